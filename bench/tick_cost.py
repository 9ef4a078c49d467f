"""What a rate tick costs a worker: the CPU time of the first answer after every rate moved
(the figures, and for the page its charts and HTML, made again) against the next one (answered
from memory), in this process, for /api/balance and the wallet page: on the SQLite demo, or with
--schema on a loaded PostgreSQL bench schema (signed in as the bench's middle account), where the
change feed must first hear of each tick.

With rates moving five times a second, each worker pays the first kind five times a second per
open account; this is the figure that decides how close "rates moving" stays to steady.

Run: python -m bench.tick_cost [--ticks 60] [--schema bench_1000]    (about 20 seconds)
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sqlite3
import statistics
import sys
import time

from . import load, sqlite_site
from . import schema as bench_schema
from .profile import signed_in_client, wait_for
from .ticker import STEPS, current_rates, write_tick


def _environ(path: str, cookie: str) -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "HTTP_HOST": "localhost", "HTTP_COOKIE": cookie, "REMOTE_ADDR": "127.0.0.1",
    }


def _cpu_ms(app, environ: dict) -> float:
    statuses = []
    started = time.process_time()
    body = app(dict(environ), lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    body.close()
    spent = (time.process_time() - started) * 1000
    if not statuses or not statuses[0].startswith("200"):
        raise RuntimeError(f"{environ['PATH_INFO']} answered {statuses}")
    return spent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tick_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=60, help="ticks per path (default 60)")
    parser.add_argument("--schema", type=bench_schema.check_schema,
                        help="a PostgreSQL bench schema loaded by `python -m bench` (e.g. bench_1000); default: the SQLite demo")
    args = parser.parse_args(argv)
    if args.ticks < 1:
        parser.error("--ticks must be at least 1")

    if args.schema:
        if load.loaded_accounts(args.schema) is None:
            parser.error(f"schema {args.schema} holds no bench accounts: load it with `python -m bench --sizes N` first")
        _measure_postgresql(args.schema, args.ticks)
        return
    path = sqlite_site.prepare()
    try:
        _measure_sqlite(path, args.ticks)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def _cookie(client) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())  # noqa: SLF001 (the test client's jar)


def _measure_sqlite(path, ticks: int) -> None:
    os.environ.update(sqlite_site.environment_for(path))
    from dashboard import create_app

    app = create_app()
    cookie = _cookie(signed_in_client(app, sqlite_site.DEMO_EMAIL, sqlite_site.DEMO_PASSWORD))
    writer = sqlite3.connect(path, timeout=10)
    try:
        _measure(app, cookie, f"SQLite demo, {path}", ticks,
                 lambda rates, step: write_tick(writer, rates, step, sqlite=True), current_rates(writer))
    finally:
        writer.close()


def _measure_postgresql(schema: str, ticks: int) -> None:
    from dashboard import create_app

    app = create_app(bench_schema.app_config(schema))
    email = load.bench_email(load.middle_account(load.loaded_accounts(schema)[0]))
    cookie = _cookie(signed_in_client(app, email))
    feed = app.extensions["dashboard_change_feed"]
    wait_for(lambda: feed.listening, "the change feed to listen")

    def tick(rates, step):
        heard = feed.generation
        write_tick(writer, rates, step, sqlite=False)
        wait_for(lambda: feed.generation != heard, "the change feed to hear the tick")

    with bench_schema.connect(schema) as writer:
        _measure(app, cookie, f"PostgreSQL schema {schema}, signed in as {email}", ticks, tick, current_rates(writer))


def _measure(app, cookie: str, where: str, ticks: int, tick, rates) -> None:
    print(f"CPU ms per answer in this process, median of {ticks} ticks ({where})")
    print(f"  {'':<22}{'after a tick':>14}{'unchanged':>12}{'ratio':>8}")
    for label, url in (("GET /api/balance", "/api/balance"), ("GET / (wallet page)", "/")):
        environ = _environ(url, cookie)
        _cpu_ms(app, environ)
        after_tick, unchanged = [], []
        for number in range(ticks):
            tick(rates, STEPS[number % 2])
            after_tick.append(_cpu_ms(app, environ))
            unchanged.append(_cpu_ms(app, environ))
        first, again = statistics.median(after_tick), statistics.median(unchanged)
        print(f"  {label:<22}{first:>14.2f}{again:>12.2f}{first / again:>7.1f}×")


if __name__ == "__main__":
    main()
