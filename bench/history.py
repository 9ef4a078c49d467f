"""The net-asset history at scale: a year of one tick a minute for every currency but JPY, and
1,000 journal entries for the measured account; then /api/history?range=… under wrk, and the
wallet page with its charts and without them beside the bare Flask app.

Usage (from the repository root): python -m bench.history [--schema bench_history] [--reload]
    [--rounds 3] [--duration 3] [--connections 1,4] [--ranges 1y,1m,1w,1d,all] [--no-page]

Prints what the history costs on disk (rate_history and rate_closes, with their indexes); per
range and connection count, requests/s, p50 and p99 of the best round; then the page's share of
the bare app's requests/s with the charts and with WALLET_CHARTS=0, rates steady and moving.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from psycopg import sql
from sqlalchemy import select

from . import schema, signin, ticker, wrk
from .server import Workers, serve

MINUTES = 365 * 24 * 60
ACCOUNT, PASSWORD = "history@bench.example", "benchpass"
JOURNAL_ENTRIES = 1000


def _currencies(connection) -> list[tuple[str, int]]:
    return connection.execute("SELECT code, display_order FROM currencies WHERE code <> 'jpy' ORDER BY display_order").fetchall()


def _rate(order: int, minute: int) -> str:
    """A made-up but varied rate in thousandths: the same for every run, no float anywhere."""
    base = 1000 * (10 ** (order % 6 + 1))
    wobble = ((minute * 7919 + order * 104729) % 2001) - 1000 + (minute // 1440 % 60) * 15
    return str(Decimal(base + wobble * base // 100000).scaleb(-3))


def load(schema_name: str, now: datetime) -> dict:
    from dashboard.core.history import PERIODS, closes_at

    started = time.monotonic()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)
    with schema.connect(schema_name) as connection, connection.cursor() as cursor:
        currencies = _currencies(connection)
        cursor.execute("TRUNCATE rate_history, rate_closes")
        with cursor.copy("COPY rate_history (currency_code, jpy_rate, as_of, source, recorded_at) FROM STDIN") as copy:
            for code, order in currencies:
                buffer = io.StringIO()
                for minute in range(MINUTES):
                    moment = (start + timedelta(minutes=minute)).isoformat()
                    buffer.write(f"{code}\t{_rate(order, minute)}\t{moment}\tbench\t{moment}\n")
                    if minute % 50000 == 49999:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
        with cursor.copy("COPY rate_closes (currency_code, period_seconds, closes_at, jpy_rate, as_of) FROM STDIN") as copy:
            for code, order in currencies:
                for period in PERIODS:
                    # Ticks every minute: a boundary's close is the tick at it, or the last tick
                    # for the period still open at the end.
                    closes: dict[datetime, int] = {}
                    end, last_end = closes_at(start, period), closes_at(start + timedelta(minutes=MINUTES - 1), period)
                    while end <= last_end:
                        closes[end] = min(int((end - start).total_seconds()) // 60, MINUTES - 1)
                        end += timedelta(seconds=period)
                    copy.write("".join(
                        f"{code}\t{period}\t{end.isoformat()}\t{_rate(order, minute)}\t{(start + timedelta(minutes=minute)).isoformat()}\n"
                        for end, minute in closes.items()))
        last = start + timedelta(minutes=MINUTES - 1)
        cursor.execute("TRUNCATE rates")
        for code, order in currencies:
            cursor.execute("INSERT INTO rates (currency_code, jpy_rate, as_of, source) VALUES (%s, %s, %s, 'bench')",
                           (code, _rate(order, MINUTES - 1), last))
        connection.commit()
    with schema.connect(schema_name, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE rate_history")
        connection.execute("VACUUM ANALYZE rate_closes")
    return {"ticks": len(currencies) * MINUTES, "currencies": len(currencies), "seconds": round(time.monotonic() - started, 1)}


def write_journal(schema_name: str, now: datetime) -> None:
    """The measured account and its 1,000 entries over the year, through the app's own ledger."""
    from dashboard import create_app
    from dashboard.accounts.store import create_account, find_account
    from dashboard.extensions import db
    from dashboard.ledger.changes import BalanceChange, record_changes
    from dashboard.models import Currency

    app = create_app(schema.app_config(schema_name))
    with app.app_context():
        if find_account(ACCOUNT) is not None:
            return
        account = create_account(ACCOUNT, PASSWORD)
        codes = list(db.session.execute(select(Currency.code).order_by(Currency.display_order)).scalars())
        for entry in range(JOURNAL_ENTRIES):
            code = codes[entry % len(codes)]
            amount = Decimal(1000 + entry * 37 % 5000) if code == "jpy" else Decimal(entry * 37 % 5000 + 1).scaleb(-2)
            at = now - timedelta(minutes=MINUTES) + timedelta(minutes=MINUTES * entry // JOURNAL_ENTRIES + 1)
            record_changes([BalanceChange(account.id, code, amount, Decimal(0))], reason="bench", source="bench", at=at)
        db.session.commit()
        for engine in db.engines.values():
            engine.dispose()


def disk(schema_name: str) -> dict:
    with schema.connect(schema_name) as connection:
        return {table: connection.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0]
                for table in ("rate_history", "rate_closes")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", default="bench_history")
    parser.add_argument("--reload", action="store_true", help="load the year again even if it is there")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--connections", default="1,4")
    parser.add_argument("--ranges", default="1y,1m,1w,1d,all")
    parser.add_argument("--moving-ranges", default="1y", help="ranges measured again with every rate moving 5×/s ('' for none)")
    # The production command of docs/operations.md, as bench/run.sh serves it: 2 sync workers.
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-page", action="store_true", help="leave out the wallet page with and without its charts")
    parser.add_argument("--page-connections", type=int, default=16, help="wrk connections for the page (default 16, as bench/run.sh)")
    options = parser.parse_args(argv)
    name = schema.check_schema(options.schema)
    now = datetime.now(UTC)
    loaded = schema.exists(name)
    schema.migrate(name)
    if options.reload or not loaded:
        print("loading a year of ticks…", flush=True)
        print(load(name, now), flush=True)
    with schema.connect(name, autocommit=True) as connection:
        connection.execute(sql.SQL("UPDATE rates SET as_of = now()"))  # never measure the stale page
    write_journal(name, now)
    sizes = disk(name)
    with schema.connect(name) as connection:
        ticks = connection.execute("SELECT count(*) FROM rate_history").fetchone()[0]
        sizes_ticks = connection.execute("SELECT count(DISTINCT currency_code) FROM rate_history").fetchone()[0]
    total = sizes["rate_history"] + sizes["rate_closes"]
    print(f"on disk: rate_history {sizes['rate_history'] / 2**20:,.0f} MiB, rate_closes {sizes['rate_closes'] / 2**20:,.0f} MiB "
          f"for {ticks:,} ticks of {sizes_ticks} currencies = {total / ticks:.0f} bytes a tick; "
          f"14 currencies a year ≈ {total / sizes_ticks * 14 / 2**30:.2f} GiB", flush=True)
    workers = Workers(options.workers, options.worker_class, options.threads)
    print(f"serving under gunicorn, {workers.describe()}", flush=True)
    with serve("dashboard:create_app()", workers, env=schema.app_environment(name)) as base:
        cookie = signin.sign_in(base, ACCOUNT, PASSWORD)
        measured = [(range_name, False) for range_name in options.ranges.split(",") if range_name]
        measured += [(range_name, True) for range_name in options.moving_ranges.split(",") if range_name]
        for range_name, moving in measured:
            url = f"{base}/api/history?range={range_name}"
            wrk.run("warm-up", url, seconds=1, connections=1, cookie=cookie)
            for connections in (int(c) for c in options.connections.split(",")):
                results = []
                for _ in range(options.rounds):
                    # Every rate moving five times a second, each tick appended to the history as
                    # the app writes it: far more than one a minute, so nothing is kept for long.
                    moves = ticker.moving_rates(lambda: schema.connect(name), sqlite=False, history=True) if moving else contextlib.nullcontext()
                    with moves:
                        results.append(wrk.run(range_name, url, seconds=options.duration, connections=connections, cookie=cookie))
                if any(result.errors for result in results):
                    raise SystemExit(f"failed requests on {url}: the figures would mean nothing")
                best = max(results, key=lambda result: result.rps)
                print(f"/api/history?range={range_name} c={connections}{', rates moving' if moving else ''}: {best.rps:,.0f} req/s, "
                      f"p50 {best.p50_ms:.2f} ms, p99 {best.p99_ms:.2f} ms (best of {options.rounds}; "
                      f"p99 of every round: {', '.join(f'{r.p99_ms:.1f}' for r in results)} ms)", flush=True)
    if not options.no_page:
        compare_pages(name, workers, options)


# The page's targets: (label, server, measured with rates moving five times a second).
PAGES = (("bare Flask (short JSON)", "bare", False),
         ("GET / with the charts", "charts", False), ("GET / without the charts (WALLET_CHARTS=0)", "no_charts", False),
         ("GET / with the charts, rates moving", "charts", True), ("GET / without the charts, rates moving", "no_charts", True))


def compare_pages(schema_name: str, workers: Workers, options) -> None:
    """The wallet page of the measured account (a year of history, 1,000 entries) with its charts
    and with WALLET_CHARTS=0, each beside the bare app, every server up at once and each round
    visiting them all in turn (as bench/run.sh does), so every ratio compares figures taken
    seconds apart. Rates moving: the page's figures change, so it is rendered and its charts
    made again five times a second (each tick also appended to the rate history, as the app
    writes every rate)."""
    environment = schema.app_environment(schema_name)
    with contextlib.ExitStack() as servers:
        bases = {"bare": servers.enter_context(serve("bench.bare_app:create_app()", workers)),
                 "charts": servers.enter_context(serve("dashboard:create_app()", workers, env=environment)),
                 "no_charts": servers.enter_context(serve("dashboard:create_app()", workers, env={**environment, "WALLET_CHARTS": "0"}))}
        cookies = {key: None if key == "bare" else signin.sign_in(base, ACCOUNT, PASSWORD) for key, base in bases.items()}
        page = urllib_get(bases["charts"] + "/", cookies["charts"])
        if "history-line" not in page or "history-line" in urllib_get(bases["no_charts"] + "/", cookies["no_charts"]):
            raise SystemExit("the page with charts must have them and the one without must not")
        connections = options.page_connections
        print(f"\nthe wallet page beside the bare app: {workers.describe()} each; wrk {connections} connections", flush=True)
        for _label, key, _moving in PAGES:
            wrk.run("warm-up", bases[key] + "/", seconds=1, connections=connections, cookie=cookies[key])
        runs: dict[str, list[wrk.Result]] = {label: [] for label, _key, _moving in PAGES}
        for _round in range(options.rounds):
            for label, key, moving in PAGES:
                moves = (ticker.moving_rates(lambda: schema.connect(schema_name), sqlite=False, history=True)
                         if moving else contextlib.nullcontext())
                with moves:
                    result = wrk.run(label, bases[key] + "/", seconds=options.duration, connections=connections, cookie=cookies[key])
                if result.errors:
                    raise SystemExit(f"{label}: {result.errors} failed requests; the figures would mean nothing")
                runs[label].append(result)
    best = {label: max(results, key=lambda result: result.rps) for label, results in runs.items()}
    bare = best[PAGES[0][0]]
    for label, result in best.items():
        print(f"{label:48} {result.rps:7,.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:7.2f} ms   "
              f"{result.rps / bare.rps:5.0%} of bare (best of {options.rounds})", flush=True)
    for moving in (False, True):
        on, off = (best[label] for label, _key, moves in PAGES[1:] if moves is moving)
        print(f"rates {'moving' if moving else 'steady'}: the page with charts is {on.rps / off.rps:.0%} of the page without "
              f"({on.rps / bare.rps:.0%} against {off.rps / bare.rps:.0%} of bare)", flush=True)


def urllib_get(url: str, cookie: str) -> str:
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": wrk.USER_AGENT})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


if __name__ == "__main__":
    main()
