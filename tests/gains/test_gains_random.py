"""Random years of fills and transfers, imported through the commands' own code into SQLite and
PostgreSQL, give the realized gains and closing balances that a brute-force replay of each method
gives (tests/core/test_cost_basis.py's, on the events the fills amount to)."""
from __future__ import annotations

import importlib.util
import math
import uuid
from datetime import datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.core.cost_basis import BUY, MOVE_IN, MOVE_OUT, MOVING_AVERAGE, SELL, TOTAL_AVERAGE, Event
from dashboard.extensions import db
from dashboard.gains.figures import realized_gains, report_rows
from dashboard.ledger.changes import adjust, in_transaction
from dashboard.ledger.fills import import_trades, import_transfers
from dashboard.models import Account, utcnow

ZONE = ZoneInfo("Asia/Tokyo")
_spec = importlib.util.spec_from_file_location("brute", Path(__file__).parents[1] / "core" / "test_cost_basis.py")
brute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(brute)


@st.composite
def fills(draw):
    """(kind, day offset, units of 1e-8 BTC, price in sen, fee in yen) that never take away more
    than is held; prices with sen make quantity × price finer than the yen."""
    held, drawn = 0, []
    for _ in range(draw(st.integers(1, 10))):
        kinds = ["buy", "in"] + (["sell", "out"] if held > 0 else [])
        kind = draw(st.sampled_from(kinds))
        units = draw(st.integers(1, 10**8)) if kind in ("buy", "in") else draw(st.integers(1, held))
        held += units if kind in ("buy", "in") else -units
        sen, fee = draw(st.integers(1, 10**9)), draw(st.integers(0, 500))
        if kind == "sell":  # a sale's fee cannot take more than it fetches (refused as impossible)
            fee = min(fee, units * sen // 10**10)
        drawn.append((kind, draw(st.integers(0, 250)), units, sen, fee))
    return drawn


def events_of(drawn) -> list[Event]:
    """What the fills amount to, as the docs (gains.md) say: a buy pays quantity × price rounded
    up plus the fee; a sale receives it rounded down less the fee."""
    moment, events = datetime(2016, 3, 1, 12, tzinfo=ZONE), []
    for kind, days, units, sen, fee in drawn:
        moment += timedelta(days=days)
        quantity, price = D(units).scaleb(-8), D(sen).scaleb(-2)
        if kind == "buy":
            events.append(Event(moment, BUY, quantity, D(math.ceil(quantity * price)) + fee))
        elif kind == "sell":
            events.append(Event(moment, SELL, quantity, D(math.floor(quantity * price)) - fee))
        else:
            events.append(Event(moment, MOVE_IN if kind == "in" else MOVE_OUT, quantity, D(0)))
    return events


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=fills())
def test_the_database_agrees_with_brute_force(app, drawn):
    name = f"random-{uuid.uuid4().hex[:12]}"
    email = f"{name}@example.com"
    # One file a line, in time order: each is imported whole, and a sale or a move out needs what
    # the lines before it brought.
    files = []
    moment = datetime(2016, 3, 1, 12, tzinfo=ZONE)
    for number, (kind, days, units, sen, fee) in enumerate(drawn):
        moment += timedelta(days=days)
        quantity, price = format(D(units).scaleb(-8), "f"), format(D(sen).scaleb(-2), "f")
        if kind in ("buy", "sell"):
            files.append((import_trades, "email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency\n"
                          f"{email},{name}-{number},{moment.isoformat()},btc_jpy,{kind},{quantity},{price},{fee},jpy"))
        else:
            files.append((import_transfers, "email,transfer_id,at,currency,direction,quantity\n"
                          f"{email},{name}-{number},{moment.isoformat()},btc,{kind},{quantity}"))
    with app.app_context():
        account = Account(email=email, password_hash="!")
        db.session.add(account)
        db.session.commit()
        in_transaction(lambda: adjust(account.id, "jpy", available=D(10) ** 13, reason="fund", source="test",
                                      at=datetime(2016, 1, 1, tzinfo=ZONE)))
        for read, text in files:
            result, _ = in_transaction(lambda read=read, text=text: read(text.encode(), source="test", zone="Asia/Tokyo", now=utcnow()))
            assert result.applied == 1
        events = events_of(drawn)
        for method, replay in ((TOTAL_AVERAGE, brute.brute_total_average), (MOVING_AVERAGE, brute.brute_moving_average)):
            for year, (income, units, _value) in replay(events).items():
                sold = any(e.kind == SELL and e.at.year == year for e in events)
                gains = realized_gains(account.id, year, method, ZONE)
                assert gains["gain_jpy"] == (str(income) if sold else "0"), (method, year)
                rows = {row["currency"]: row for row in report_rows(account.id, year, method, ZONE)}
                assert D(rows["btc"]["closing_quantity"]) == D(units.numerator) / D(units.denominator), (method, year)
