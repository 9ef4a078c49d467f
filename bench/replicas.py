"""The bench's replica mode: the dashboard on a primary alone and on a primary with a streaming replica.

Usage (from the repository root): python -m bench.replicas [--accounts 20000] [--rounds 3] [--duration 3],
or through the bench's script: bash bench/run.sh --replica [the same options].

It starts its own primary and replica (bench/clusters.py: initdb, pg_basebackup -R, pg_ctl, on
free ports, removed at the end; the machine's PostgreSQL is not used), loads the accounts into
the primary, and serves four dashboards under gunicorn beside the bare app: DATABASE_URL alone,
and with DATABASE_REPLICA_URLS naming the replica, each with the read cache on and off. Every
round visits every target in turn (wrk on /api/balance, signed in as the middle account); the
best round stands for each. It then counts, per request and per server, the transactions each
server committed (pg_stat_database.xact_commit: where the reads went) and the CPU its processes
spent (/proc: what a read costs the database, the per-core figure of docs/capacity.md).

Everything runs on one machine, so a replica adds no capacity here: the figures show the
routing and what it costs (the replica's position asked once a second per worker, the LSN asked
after each batch of changes), not the throughput a second machine would add.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time

from sqlalchemy.engine import make_url

from . import clusters, load, schema, signin, wrk
from .server import Workers, children_cpu_seconds, serve

TARGETS = (  # (label, key, replica, read cache)
    ("bare Flask (short JSON)", "bare", False, True),
    ("GET /api/balance, primary only", "primary", False, True),
    ("GET /api/balance, with a replica", "replica", True, True),
    ("GET /api/balance, primary only, cache off", "primary_uncached", False, False),
    ("GET /api/balance, with a replica, cache off", "replica_uncached", True, False),
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000, help="accounts loaded into the primary (default 20000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every target (default 3)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per app (default 2)")
    options = parser.parse_args(argv)
    if options.accounts < 1 or options.rounds < 1 or options.duration <= 0 or options.connections < 1 or options.workers < 1:
        parser.error("every figure must be positive")
    return options


def committed(cluster: clusters.Cluster) -> int:
    with cluster.connect() as connection:
        return connection.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = 'dashboard'").fetchone()[0]


def cpu_seconds(cluster: clusters.Cluster) -> float:
    """CPU time (user and system) of the cluster's server processes: the postmaster's children."""
    postmaster = int((cluster.directory / "postmaster.pid").read_text().split()[0])
    return children_cpu_seconds(postmaster, with_parent=True)


def main(argv=None) -> None:
    options = parse_args(argv)
    workers = Workers(options.workers, "sync", 1)
    print(f"starting a primary and its streaming replica; loading {options.accounts:,} accounts", flush=True)
    with clusters.primary_and_replica("dashboard") as (primary, replica):
        # The bench's own helpers (schema.py, load.py) read the database from this variable.
        os.environ["BENCH_DATABASE_URL"] = primary.url("dashboard")
        name = schema.schema_name("bench_replicas", options.accounts)
        schema.migrate(name)
        load.load(name, options.accounts, log=lambda line: None)
        schema.seed_demo(name)
        with schema.connect(name) as connection:
            connection.execute("UPDATE rates SET as_of = now()")
            connection.commit()
        clusters.replayed_up_to(replica, primary)
        replica_url = make_url(replica.url("dashboard")).update_query_dict({"options": f"-csearch_path={name}"})
        environment = schema.app_environment(name)
        environments = {
            "primary": environment,
            "replica": {**environment, "DATABASE_REPLICA_URLS": replica_url.render_as_string(hide_password=False)},
        }
        email = load.bench_email(load.middle_account(options.accounts))
        print(f"serving: {workers.describe()} per app; wrk {options.connections} connections; "
              f"best of {options.rounds} round(s) of {options.duration:g} s", flush=True)
        with contextlib.ExitStack() as servers:
            bases, cookies = {}, {}
            for _label, key, with_replica, cached in TARGETS:
                if key == "bare":
                    bases[key] = servers.enter_context(serve("bench.bare_app:create_app()", workers))
                    cookies[key] = None
                    continue
                env = dict(environments["replica" if with_replica else "primary"])
                if not cached:
                    env["READ_CACHE_SECONDS"] = "0"
                bases[key] = servers.enter_context(serve("dashboard:create_app()", workers, env=env))
                cookies[key] = signin.sign_in(bases[key], email, load.BENCH_PASSWORD)
            clusters.replayed_up_to(replica, primary)
            for _label, key, _r, _c in TARGETS:
                wrk.run("warm-up", bases[key] + _path(key), seconds=2, connections=options.connections, cookie=cookies[key])
            runs: dict[str, list[wrk.Result]] = {key: [] for _l, key, _r, _c in TARGETS}
            for _round in range(options.rounds):
                for label, key, _r, _c in TARGETS:
                    result = wrk.run(label, bases[key] + _path(key), seconds=options.duration,
                                     connections=options.connections, cookie=cookies[key])
                    if result.errors:
                        raise SystemExit(f"{label}: {result.errors} failed requests; the figures would mean nothing")
                    runs[key].append(result)
            routing = {key: where_reads_went(bases[key], cookies[key], primary, replica)
                       for _l, key, _r, _c in TARGETS if key != "bare"}
    report(runs, routing, options)


def _path(key: str) -> str:
    return "/" if key == "bare" else "/api/balance"


def where_reads_went(base: str, cookie: str, primary: clusters.Cluster, replica: clusters.Cluster) -> tuple[float, ...]:
    """Per request, over 3 s of load: transactions committed on the primary and on the replica,
    and the milliseconds of CPU each server's processes spent. PostgreSQL reports a backend's
    counts at most once a second: read after a pause."""
    time.sleep(1.5)
    before = committed(primary), committed(replica)
    cpu_before = cpu_seconds(primary), cpu_seconds(replica)
    result = wrk.run("routing", base + "/api/balance", seconds=3, connections=4, cookie=cookie)
    cpu_after = cpu_seconds(primary), cpu_seconds(replica)
    time.sleep(1.5)
    after = committed(primary), committed(replica)
    return ((after[0] - before[0]) / result.requests, (after[1] - before[1]) / result.requests,
            1000 * (cpu_after[0] - cpu_before[0]) / result.requests, 1000 * (cpu_after[1] - cpu_before[1]) / result.requests)


def report(runs: dict, routing: dict, options) -> None:
    best = {key: max(results, key=lambda result: result.rps) for key, results in runs.items()}
    bare = best["bare"].rps
    print(f"\n{'':48} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'vs bare':>8}   per request: transactions on the primary, "
          "on the replica; CPU ms of the primary's processes, the replica's")
    for label, key, _r, _c in TARGETS:
        result = best[key]
        where = routing.get(key)
        shown = f"   {where[0]:.2f}, {where[1]:.2f}; {where[2]:.3f}, {where[3]:.3f}" if where else ""
        print(f"{label:48} {result.rps:7,.0f} {result.p50_ms:7.2f} {result.p99_ms:7.2f} {result.rps / bare:8.0%}{shown}", flush=True)
    for cached in (True, False):
        suffix = "" if cached else "_uncached"
        print(f"with a replica, cache {'on' if cached else 'off'}: {best['replica' + suffix].rps / best['primary' + suffix].rps:.0%} "
              "of the requests/s of the primary alone (same machine: routing and its cost, not a second machine's capacity)")
    print("rounds (req/s): " + "; ".join(f"{key} " + ", ".join(f"{r.rps:,.0f}" for r in results) for key, results in runs.items()))


if __name__ == "__main__":
    import signal
    import sys

    # SystemExit unwinds through every `with`: the servers and the clusters are stopped.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: sys.exit(128 + number))
    main()
