"""The gains bench: a year's annual transaction report for an account with 10,000 fills
(target: under one second), and the import of those fills.

    python -m bench.gains [--fills 10000] [--database-url URL]
    python -m bench.gains --instructions [--requests 15]

Without --database-url a temporary SQLite file is used; give a PostgreSQL URL (a database of
its own: the bench migrates it and adds one account) to measure there. Figures are the best of
five runs, in-process, the report read from the database each time."""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Tokyo")


def fills_csv(email: str, count: int, year: int) -> bytes:
    """count fills of BTC, ETH and XEM over the year: mostly buys, every third fill a sale of a
    quarter of what is held, fees in JPY or in units."""
    rng = random.Random(28)
    lines = ["email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency"]
    start = datetime(year, 1, 1, tzinfo=ZONE)
    step = timedelta(seconds=(365 * 86400) // (count + 1))
    held = {"btc": 0, "eth": 0, "xem": 0}  # in the currency's smallest units
    places = {"btc": 8, "eth": 8, "xem": 6}
    prices = {"btc": 1_000_000, "eth": 80_000, "xem": 90}
    for number in range(count):
        code = rng.choice(list(held))
        units = held[code] // 4 if number % 3 == 2 and held[code] >= 4 else rng.randint(10_000, 10_000_000)
        side = "sell" if number % 3 == 2 and held[code] >= 4 else "buy"
        fee_units = units // 1000 if rng.random() < .5 else 0
        held[code] += (units - fee_units) if side == "buy" else -(units + fee_units)
        quantity = Decimal(units).scaleb(-places[code])
        fee = format(Decimal(fee_units).scaleb(-places[code]), "f") if fee_units else "12"
        price = Decimal(prices[code] * rng.randint(900, 1100)) / 1000
        moment = start + step * (number + 1)
        lines.append(f"{email},F{number},{moment.isoformat()},{code}_jpy,{side},{format(quantity, 'f')},{price},{fee},"
                     f"{code if fee_units else 'jpy'}")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--instructions", action="store_true",
                        help="only count the instructions of /api/balance and / after a tick, with and without the gains "
                             "fields, under Valgrind's callgrind (about 10 minutes)")
    parser.add_argument("--requests", type=int, default=15, help="requests counted per kind with --instructions")
    args = parser.parse_args()
    if args.instructions:
        if args.requests < 1:
            parser.error("--requests must be at least 1")
        count_instructions(args.requests)
        return
    folder = tempfile.mkdtemp(prefix="gains-bench-")
    url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"

    from flask_migrate import upgrade
    from sqlalchemy import select

    from dashboard import create_app
    from dashboard.extensions import db
    from dashboard.gains.figures import realized_gains, report_csv, report_rows
    from dashboard.ledger.changes import adjust, in_transaction
    from dashboard.ledger.fills import import_trades
    from dashboard.models import Account, utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 32, "TESTING": True})
    year = utcnow().astimezone(ZONE).year - 1
    with app.app_context():
        upgrade()
        account = db.session.execute(select(Account).where(Account.email == "bench-gains@example.com")).scalar()
        if account is None:  # a database of an earlier run keeps its fills: the import is measured once
            account = Account(email="bench-gains@example.com", password_hash="!")
            db.session.add(account)
            db.session.commit()
            in_transaction(lambda: adjust(account.id, "jpy", available=Decimal(10) ** 15, reason="bench", source="bench",
                                          at=datetime(year - 1, 12, 1, tzinfo=ZONE)))
            data = fills_csv(account.email, args.fills, year)
            began = time.perf_counter()
            result, _ = in_transaction(lambda: import_trades(data, source="bench", zone="Asia/Tokyo", now=utcnow()))
            imported = time.perf_counter() - began
            print(f"import of {result.applied:,} fills: {imported:.1f} s ({imported / max(result.applied, 1) * 1000:.1f} ms a fill)")
        timings = []
        for _ in range(5):
            db.session.expire_all()
            began = time.perf_counter()
            body = report_csv(report_rows(account.id, year, "total-average", ZONE), "ja")
            timings.append(time.perf_counter() - began)
        print(f"annual report {year}, total-average, {args.fills:,} fills: best {min(timings) * 1000:.0f} ms "
              f"(of 5: {', '.join(f'{t * 1000:.0f}' for t in timings)}) — target < 1000 ms; {len(body):,} bytes")
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            report_rows(account.id, year, "moving-average", ZONE)
            timings.append(time.perf_counter() - began)
        print(f"annual report {year}, moving-average: best {min(timings) * 1000:.0f} ms")
        began = time.perf_counter()
        realized_gains(account.id, year, "total-average", ZONE)
        print(f"/api/gains document: {(time.perf_counter() - began) * 1000:.0f} ms")
    balance_cost(f"sqlite:///{Path(folder) / 'balance.db'}")


def balance_cost(url: str, requests: int = 200, dump=None) -> None:
    """/api/balance and the wallet page in-process (CPU time of this process) for the demo account after every rate tick (the figures changed:
    the full path), with the gains fields and without them (wallet.views.with_gains replaced by
    the base figures), alternating in the same run."""
    import random as _random
    from datetime import UTC

    from dashboard import create_app
    from dashboard.extensions import db
    from dashboard.ledger.demo import DEMO_RATES, seed_demo
    from dashboard.ledger.demo_story import tick_demo_rates
    from dashboard.wallet import views
    from dashboard.wallet.unchanged_refresh import FAR_FUTURE

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 32, "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        seed_demo(story=True)
    client = app.test_client()
    assert client.post("/login", data={"email": "demo@example.com", "password": "demopass"}).status_code == 302
    with_gains = views.with_gains
    without = lambda base, *args: (base, FAR_FUTURE)  # noqa: E731
    rng = _random.Random(7)
    for path in ("/api/balance", "/"):
        timings = {"with": [], "without": []}
        for number in range(requests * 2):
            kind = "with" if number % 2 else "without"
            views.with_gains = with_gains if kind == "with" else without
            with app.app_context():
                tick_demo_rates(rng, DEMO_RATES, datetime.now(UTC))
                db.session.commit()
            if dump:
                dump("skip")  # the tick's own writing is not the request's
            began = time.process_time()
            response = client.get(path)
            timings[kind].append(time.process_time() - began)
            if dump:
                dump(f"{kind}-{'page' if path == '/' else 'api'}-{number}")
            assert response.status_code == 200
        views.with_gains = with_gains
        best = {kind: sorted(values)[len(values) // 2] for kind, values in timings.items()}
        print(f"{path} after a rate tick (CPU, median of {requests}): with gains {best['with'] * 1000:.2f} ms, "
              f"without {best['without'] * 1000:.2f} ms, ratio {best['with'] / best['without']:.2f}")
    if dump:
        return
    # A busy worker while every rate moves five times a second (the bench's "rates moving"): a
    # tick every 0.2 s of its CPU, requests answered in between (the first after a tick the full
    # path, the rest from the memos); requests per CPU second, with and without the gains fields.
    for path in ("/api/balance", "/"):
        served = {"with": [], "without": []}
        for number in range(6):
            kind = "with" if number % 2 else "without"
            views.with_gains = with_gains if kind == "with" else without
            answered, spent, next_tick = 0, 0.0, 0.0
            while spent < 2.0:
                if spent >= next_tick:
                    with app.app_context():
                        tick_demo_rates(rng, DEMO_RATES, datetime.now(UTC))
                        db.session.commit()
                    next_tick += 0.2
                began = time.process_time()
                client.get(path)
                spent += time.process_time() - began
                answered += 1
            served[kind].append(answered / spent)
        views.with_gains = with_gains
        best = {kind: sorted(values)[len(values) // 2] for kind, values in served.items()}
        print(f"{path} with rates moving 5×/s (requests per CPU second, median of 3 rounds of 2 s): "
              f"with gains {best['with']:.0f}, without {best['without']:.0f}, ratio {best['with'] / best['without']:.2f}")

def count_instructions(requests: int = 15) -> None:
    """balance_cost under Valgrind's callgrind: machine instructions of this process per request
    after a tick, with and without the gains fields, which the machine's load does not change
    (timings on a shared 2-core machine swing by half from one minute to the next)."""
    import os
    import re
    import subprocess
    import sys

    if os.environ.get("BENCH_UNDER_CALLGRIND"):
        def dump(label: str) -> None:
            subprocess.run(["callgrind_control", f"--dump={label}", str(os.getpid())], check=True, capture_output=True)

        balance_cost(f"sqlite:///{Path(tempfile.mkdtemp(prefix='gains-bench-')) / 'balance.db'}", requests, dump)
        return
    with tempfile.TemporaryDirectory(prefix="gains-callgrind-") as folder:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.out", sys.executable, "-m",
                   "bench.gains", "--instructions", "--requests", str(requests)]
        done = subprocess.run(command, env={**os.environ, "BENCH_UNDER_CALLGRIND": "1"}, capture_output=True, text=True,
                              timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"the counting run failed:\n{done.stderr[-3000:]}")
        totals: dict[str, list[int]] = {}
        for found in Path(folder).glob("cg.out.*"):
            text = found.read_text(errors="replace")
            trigger = re.search(r"^desc: Trigger: .*?((?:with|without)-(?:page|api))-\d+", text, re.M)
            summary = re.search(r"^summary: (\d+)", text, re.M)
            if trigger and summary:
                totals.setdefault(trigger.group(1), []).append(int(summary.group(1)))
    for path in ("api", "page"):
        with_gains, without = (sorted(totals[f"{kind}-{path}"]) for kind in ("with", "without"))
        middle = len(with_gains) // 2
        print(f"{'/api/balance' if path == 'api' else '/'} after a rate tick (instructions, median of {len(with_gains)}): "
              f"with gains {with_gains[middle] / 1e6:.2f} M, without {without[middle] / 1e6:.2f} M, "
              f"ratio {with_gains[middle] / without[middle]:.3f}")


if __name__ == "__main__":
    main()
