"""Where a /api/history request's time goes, in-process: SQL against Python, per range. Rows:
the past points kept (the usual request); kept with a tick written since (as nearly every
tick, now: one statement checks it reaches no past boundary); made afresh with the range's
rates kept (after an entry of the account, or READ_CACHE_SECONDS); made afresh with its rates
read again (after a tick at or before the last boundary, or the first request of a process).

Run (after `python -m bench.history` has loaded its schema): python -m bench.history_profile
    [--schema bench_history] [--repeat 100] [--ranges 1y,1m,1w,1d,all] [--out DIR]
"""
from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

from . import schema as bench_schema
from .history import ACCOUNT, PASSWORD
from .signin import csrf_token


class SqlClock:
    """Statements and the wall time spent inside the database driver, from SQLAlchemy's events."""

    def __init__(self):
        self.statements = 0
        self.seconds = 0.0
        self._started: list[float] = []

    def before(self, *_args, **_kwargs):
        self._started.append(time.perf_counter())

    def after(self, *_args, **_kwargs):
        self.seconds += time.perf_counter() - self._started.pop()
        self.statements += 1

    @contextmanager
    def listening(self, engines):
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self.before)
            event.listen(engine, "after_cursor_execute", self.after)
        try:
            yield self
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", self.before)
                event.remove(engine, "after_cursor_execute", self.after)


def signed_in_client(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"email": ACCOUNT, "password": PASSWORD, "csrf_token": csrf_token(page)})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in as {ACCOUNT} answered {answer.status_code}")
    return client


def measure(client, url: str, engines, repeat: int, *, forget=None) -> dict:
    """Per request: wall ms (best, median and worst of `repeat`), this process's CPU ms (the
    least: on a shared machine other processes only add), SQL ms and statements (of the best)."""
    walls, cpus, sqls, counts = [], [], [], []
    for _ in range(repeat):
        if forget is not None:
            forget()
        clock = SqlClock()
        with clock.listening(engines):
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        sqls.append(clock.seconds)
        counts.append(clock.statements)
    best = min(range(repeat), key=walls.__getitem__)
    ordered = sorted(walls)
    return {"best": walls[best] * 1000, "median": ordered[len(ordered) // 2] * 1000, "worst": ordered[-1] * 1000,
            "cpu": min(cpus) * 1000,
            "sql": sqls[best] * 1000, "statements": counts[best], "bytes": len(response.get_data())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="bench_history")
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--ranges", default="1y,1m,1w,1d,all")
    parser.add_argument("--out", default="", help="also write pyinstrument reports of range=1y here")
    options = parser.parse_args(argv)
    if not bench_schema.exists(bench_schema.check_schema(options.schema)):
        raise SystemExit(f"schema {options.schema} is not there: run python -m bench.history first")

    from dashboard import create_app
    from dashboard.extensions import db
    from dashboard.ledger import net_asset_history
    from dashboard.wallet import history

    app = create_app(bench_schema.app_config(options.schema))
    client = signed_in_client(app)
    with app.app_context():
        engines = list(db.engines.values())

    def forget_account():  # as after a new journal entry, or a tick whose rates another request read
        history._PAST_POINTS.clear()

    def forget():  # as after a tick before the last boundary: the rates of the range are read again too
        forget_account()
        net_asset_history._RATE_STEPS.clear()

    def tick_now():  # as nearly every tick: now, after every past boundary (the BTC rate unchanged)
        from dashboard.ledger.rate_updates import store_rate
        from dashboard.models import Rate

        with app.app_context():
            store_rate("btc", db.session.get(Rate, "btc").jpy_rate, as_of=datetime.now(UTC), source="bench")
            db.session.commit()

    print(f"{'/api/history (in-process, ' + options.schema + ')':40}{'best ms':>9}{'median':>9}{'worst':>9}"
          f"{'CPU ms':>9}{'SQL ms':>9}{'stmts':>7}{'bytes':>9}")
    for range_name in options.ranges.split(","):
        url = f"/api/history?range={range_name}"
        afresh = max(5, options.repeat // 10)
        for label, kwargs, repeat in (("kept", {}, options.repeat), ("kept, a tick since", {"forget": tick_now}, afresh * 2),
                                      ("afresh, rates kept", {"forget": forget_account}, afresh),
                                      ("afresh", {"forget": forget}, afresh)):
            row = measure(client, url, engines, repeat, **kwargs)
            print(f"{range_name + ', past points ' + label:40}{row['best']:9.2f}{row['median']:9.2f}{row['worst']:9.2f}"
                  f"{row['cpu']:9.2f}{row['sql']:9.2f}{row['statements']:7}{row['bytes']:9,}")
    if options.out:
        from pyinstrument import Profiler

        out = Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        for label, forget_first in (("kept", None), ("afresh", forget)):
            profiler = Profiler(interval=0.0002)
            profiler.start()
            for _ in range(options.repeat if forget_first is None else max(5, options.repeat // 10)):
                if forget_first is not None:
                    forget_first()
                client.get("/api/history?range=1y")
            profiler.stop()
            (out / f"history_1y_{label}.txt").write_text(profiler.output_text(unicode=True, time="percent_of_total"))
            print(f"pyinstrument: {out / f'history_1y_{label}.txt'}")


if __name__ == "__main__":
    main()
