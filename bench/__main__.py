"""The bench in one command: load PostgreSQL, serve the bare app and the dashboard alike, drive both.

Usage (from the repository root): python -m bench [--sizes 1000,1700000] [--rounds 3] [--duration 5] [--quick]
The replica mode: python -m bench --replica [--accounts 20000] [--rounds 3] (bench/replicas.py).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlsplit

import psycopg

from . import load, queries, report, schema, signin, sqlite_site, ticker, wrk
from .server import Workers, serve, workers_cpu_seconds

QUICK_SIZES = (1000, 20_000)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are whole numbers separated by commas, got {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("give at least one size, each at least 1")
    return sizes


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    return parse


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=(1000, 1_700_000), help="accounts per run, comma-separated (default 1000,1700000)")
    parser.add_argument("--duration", type=_positive(float), default=3.0, help="seconds of load per measurement (default 3)")
    parser.add_argument("--rounds", type=_positive(int), default=5, help="rounds over every app and page; medians are reported (default 5)")
    parser.add_argument("--warmup", type=_not_negative, default=2.0, help="seconds of unmeasured load on each target before the rounds (default 2)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: sizes 1000,20000, one round of 3 s measurements")
    # The production command of docs/operations.md: `gunicorn --workers 2 "dashboard:create_app()"`, sync workers.
    parser.add_argument("--workers", type=_positive(int), default=2, help="gunicorn workers, for every app (default 2)")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"), help="default sync, gunicorn's own default")
    parser.add_argument("--threads", type=_positive(int), default=1, help="threads per gthread worker (default 1)")
    parser.add_argument("--connections", type=_positive(int), default=16, help="wrk connections (default 16)")
    parser.add_argument("--no-sqlite", action="store_true", help="leave out the SQLite default")
    parser.add_argument("--reload", action="store_true", help="load every size again even when its schema already holds it")
    parser.add_argument("--schema-prefix", default="bench", help="schemas are <prefix>_<size> (default bench)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.duration, args.rounds = QUICK_SIZES, 2.0, 1
        args.warmup = min(args.warmup, 1.0)
    return args


def prepare(size: int, args) -> dict:
    """The schema for one size, migrated and loaded (kept from an earlier run when it holds the size)."""
    name = schema.schema_name(args.schema_prefix, size)
    schema.migrate(name)
    loaded = None if args.reload else load.loaded_accounts(name)
    if loaded and loaded[0] == size:
        print(f"schema {name}: {size:,} accounts already loaded" + (f" (in {loaded[1]:.1f} s)" if loaded[1] else ""))
        result = {"accounts": size, "load_seconds": loaded[1], "cached": True}
    else:
        print(f"schema {name}: loading {size:,} accounts × 14 balances")
        loaded_now = load.load(name, size, log=lambda line: print(line))
        result = {"accounts": size, "load_seconds": loaded_now.total, "cached": False, "phases": loaded_now.seconds}
    schema.seed_demo(name)
    with schema.connect(name) as connection:
        # Rates as of now, so no run measures the "out of date" variant of the page; no sign-ins left over.
        connection.execute("UPDATE rates SET as_of = now()")
        connection.execute("DELETE FROM login_sessions")
    return {"schema": name, **result}


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    url: str
    cookie: str | None
    connections: int
    headers: tuple[tuple[str, str], ...] = ()
    ticker: object | None = None  # a Site whose rates move five times a second while measured
    conditional_on: str | None = None  # the base URL whose current ETag is sent (If-None-Match)


@dataclass(frozen=True)
class Site:
    """One served dashboard: PostgreSQL at a size (read cache on, or off), or the SQLite default."""

    key: str          # figure names start with it: "1000", "1000_uncached", "sqlite"
    note: str         # label: " @ 1,000", " @ 1,000, cache off", " on SQLite"
    environment: dict
    email: str
    password: str
    ticker_connect: object = None  # a DB-API connect() for the ticker, where the ticker is measured
    sqlite: bool = False


def measure(target: Target, seconds: float) -> wrk.Result:
    moving = ticker.moving_rates(target.ticker.ticker_connect, sqlite=target.ticker.sqlite) if target.ticker else contextlib.nullcontext()
    headers = dict(target.headers)
    if target.conditional_on:
        # The ETag of the figures as they are now: another target's moving rates changed them
        # since the last round, and a stale ETag would measure full answers under this label.
        etag = signin.current_etag(target.conditional_on, target.cookie)
        if not signin.answers_not_modified(target.conditional_on, target.cookie, etag):
            raise RuntimeError(f"{target.label}: the current ETag is not answered 304")
        headers["If-None-Match"] = etag
    server = "http://" + urlsplit(target.url).netloc
    with moving:
        spent = workers_cpu_seconds(server)
        result = wrk.run(target.label, target.url, seconds=seconds, connections=target.connections,
                         cookie=target.cookie, headers=headers)
        spent = workers_cpu_seconds(server) - spent
    if result.requests:
        result = replace(result, worker_cpu_ms=spent * 1000 / result.requests)
    if result.errors:
        raise RuntimeError(f"{target.label}: {result.errors} failed requests; the figures would be meaningless")
    print(f"  {target.label:<52} {result.rps:>7.0f} req/s   p50 {result.p50_ms:7.2f} ms   p99 {result.p99_ms:7.2f} ms")
    return result


def best_result(results: list[wrk.Result]) -> dict:
    """The round with the most requests/s stands for the target, for the apps alike.

    Everything that disturbs a round only slows it: another process on this shared machine, or
    (seen often) all of wrk's connections accepted by one gunicorn worker while the other idles,
    which measures one core instead of two. The best round is the one least disturbed; every
    round is kept in the JSON."""
    best = max(results, key=lambda r: r.rps)
    return {
        "rps": best.rps,
        "p50_ms": best.p50_ms,
        "p99_ms": best.p99_ms,
        "rps_spread": [min(r.rps for r in results), max(r.rps for r in results)],
        # The workers' CPU per request, median of the rounds: the cost of the app's own work,
        # which the machine's other load does not move the way it moves requests/s.
        "worker_cpu_ms": statistics.median(cpu) if (cpu := [r.worker_cpu_ms for r in results if r.worker_cpu_ms is not None]) else None,
        "requests": sum(r.requests for r in results),
        "rounds": [asdict(r) for r in results],
    }


# The dashboard on PostgreSQL is served twice per size (report.VARIANTS): as configured by
# default (the read cache on, so a request whose figures did not change since the last one sends
# no SQL), and with the cache off (every request reads PostgreSQL), which is what a request
# costs when its figures changed.
SETTINGS = {"": {}, "_uncached": {"READ_CACHE_SECONDS": "0"}}  # by report.VARIANTS' suffix


def site_targets(site: Site, base: str, args, *, measure_ticker: bool) -> list[Target]:
    cookie = signin.sign_in(base, site.email, site.password)
    note, key = site.note, site.key
    targets = [
        Target(f"{key}:api_balance", f"GET /api/balance{note}", f"{base}/api/balance", cookie, args.connections),
        Target(f"{key}:wallet_page", f"GET / (wallet page){note}", f"{base}/", cookie, args.connections),
        # The page's refresh when nothing changed: it sends the ETag of the body it has.
        Target(f"{key}:api_304", f"GET /api/balance, If-None-Match{note}", f"{base}/api/balance", cookie,
               args.connections, conditional_on=base),
    ]
    if not site.sqlite:
        # One connection: the request's own latency, without queueing behind the others.
        targets.append(Target(f"{key}:api_balance_alone", f"GET /api/balance{note}, 1 conn.", f"{base}/api/balance", cookie, 1))
    if measure_ticker:
        targets += [
            Target(f"{key}:api_balance_ticker", f"GET /api/balance{note}, rates moving", f"{base}/api/balance", cookie,
                   args.connections, ticker=site),
            Target(f"{key}:wallet_page_ticker", f"GET / (wallet page){note}, rates moving", f"{base}/", cookie,
                   args.connections, ticker=site),
        ]
    return targets


def run(args) -> dict:
    started = time.monotonic()
    wrk.ensure_wrk()
    workers = Workers(args.workers, args.worker_class, args.threads)
    figures = {
        "machine": report.machine(),
        "workers": workers.describe(),
        "connections": args.connections,
        "duration": args.duration,
        "rounds": args.rounds,
        "sizes": {},
        "targets": {},
        "labels": {},
    }
    prepared = {size: prepare(size, args) for size in args.sizes}
    sites: list[tuple[Site, bool]] = []
    smallest = min(args.sizes)
    for size, data in prepared.items():
        email = load.bench_email(load.middle_account(size))
        for suffix, note in report.VARIANTS:
            environment = {**schema.app_environment(data["schema"]), **SETTINGS[suffix]}
            name = data["schema"]
            site = Site(f"{size}{suffix}", f" @ {size:,}{note}", environment, email, load.BENCH_PASSWORD,
                        ticker_connect=lambda name=name: schema.connect(name))
            sites.append((site, size == smallest and not suffix))
    if not args.no_sqlite:
        path = sqlite_site.prepare()
        site = Site("sqlite", " on SQLite", sqlite_site.environment_for(path), sqlite_site.DEMO_EMAIL,
                    sqlite_site.DEMO_PASSWORD, ticker_connect=ticker.sqlite_connect(str(path)), sqlite=True)
        sites.append((site, True))
    print(f"\nserving under gunicorn, {workers.describe()} each; wrk {args.connections} connections, {args.duration:g} s per measurement")
    # Every app is up at once and each round visits them all in turn, so every ratio compares
    # figures taken minutes apart at most, under the same background load.
    with contextlib.ExitStack() as servers:
        bare_url = servers.enter_context(serve("bench.bare_app:create_app()", workers))
        targets = [Target("bare", "bare Flask", f"{bare_url}/", None, args.connections)]
        for site, measure_ticker in sites:
            base = servers.enter_context(serve("dashboard:create_app()", workers, site.environment))
            targets += site_targets(site, base, args, measure_ticker=measure_ticker)
        if args.warmup > 0:
            for target in targets:
                headers = dict(target.headers)
                if target.conditional_on:
                    headers["If-None-Match"] = signin.current_etag(target.conditional_on, target.cookie)
                wrk.run("warm-up", target.url, seconds=args.warmup, connections=target.connections,
                        cookie=target.cookie, headers=headers)
        runs: dict[str, list[wrk.Result]] = {target.key: [] for target in targets}
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds}")
            for target in targets:
                runs[target.key].append(measure(target, args.duration))
    figures["labels"] = {target.key: target.label for target in targets}
    figures["targets"] = {target.key: best_result(runs[target.key]) for target in targets}
    figures["bare"] = figures["targets"]["bare"]
    for size, data in prepared.items():
        email = load.bench_email(load.middle_account(size))
        counted = {
            suffix: queries.count_queries(data["schema"], email, load.BENCH_PASSWORD, cached=not suffix)
            for suffix, _note in report.VARIANTS
        }
        figures["sizes"][size] = {
            **data,
            "signed_in_as": email,
            "queries": {
                suffix: {path: {"statements": len(c.statements), "round_trips": len(c.round_trips)} for path, c in count.items()}
                for suffix, count in counted.items()
            },
        }
    figures["wall_seconds"] = time.monotonic() - started
    return figures


def _stop_on_signal(signum, _frame):
    # SystemExit unwinds through every `with serve(...)`, which stops its gunicorn.
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--replica"]:
        # The replica mode (bench/replicas.py): `bash bench/run.sh --replica [its options]`.
        from . import replicas

        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _stop_on_signal)
        replicas.main(argv[1:])
        return 0
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    try:
        figures = run(args)
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else (error.stderr or "")
        print(f"bench failed: {' '.join(map(str, error.cmd))} exited with {error.returncode}\n{detail[-3000:]}", file=sys.stderr)
        return 1
    except (RuntimeError, psycopg.Error) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; servers stopped", file=sys.stderr)
        return 130
    print()
    print(report.render(figures))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
