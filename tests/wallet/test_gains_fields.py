"""The wallet's gains figures: average price, cost, unrealized gain and 24-hour change, exact,
on /api/balance and the page; hidden yen in discreet mode."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import sign_in

from dashboard.extensions import db
from dashboard.ledger.rate_history import Tick, append_ticks
from dashboard.models import Account

TRADES = "email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency\n"


@pytest.fixture
def holder(app, runner, demo, client):
    """alice bought 1,000 XEM at 100 yen plus a 100-yen fee; XEM was at 80 yen 25 hours ago and is
    at the demo's 88.549 now."""
    with app.app_context():
        account = Account(email="alice@example.com")
        account.set_password("demopass")
        db.session.add(account)
        append_ticks([Tick("xem", Decimal("80"), datetime.now(UTC) - timedelta(hours=25), "test")])
        db.session.commit()
    assert runner.invoke(args=["balances", "import", "-", "--as-of", "2017-06-01T00:00:00+09:00"],
                         input="email,currency,available,in_use\nalice@example.com,jpy,1000000,0\n").exit_code == 0
    result = runner.invoke(args=["trades", "import", "-"],
                           input=TRADES + "alice@example.com,X1,2017-07-01T10:00:00+09:00,xem_jpy,buy,1000,100,100,jpy\n")
    assert result.exit_code == 0, result.output
    sign_in(client, "alice@example.com")
    return client


def test_the_fields_are_exact(holder):
    balance = holder.get("/api/balance").get_json()
    xem = next(row for row in balance["balances"] if row["currency"] == "xem")
    # Unit cost (100,000 + 100) ÷ 1,000 = 100.1; cost 100,100; value 1,000 × 88.549 = 88,549;
    # unrealized 88,549 − 100,100 = −11,551, ÷ 100,100 = −11.539…%; 24 hours: 1,000 × (88.549 − 80)
    # = 8,549, and 88.549 ÷ 80 − 1 = 10.686…%.
    assert {name: xem[name] for name in ("average_price_jpy", "cost_jpy", "unrealized_jpy", "unrealized_percent",
                                         "change_24h_jpy", "change_24h_percent")} == {
        "average_price_jpy": "100.1", "cost_jpy": "100100", "unrealized_jpy": "-11551", "unrealized_percent": "-11.54",
        "change_24h_jpy": "8549", "change_24h_percent": "10.69"}
    assert xem["formatted"]["unrealized_jpy"] == "-11,551" and xem["formatted"]["change_24h_jpy"] == "+8,549"
    net = balance["net_assets"]
    assert (net["unrealized_jpy"], net["unrealized_percent"], net["change_24h_jpy"], net["change_24h_percent"]) == (
        "-11551", "-11.54", "8549", "10.69")
    jpy = next(row for row in balance["balances"] if row["currency"] == "jpy")
    assert "average_price_jpy" not in jpy
    # Nothing bought, no rate 24 hours ago: null.
    btc = next(row for row in balance["balances"] if row["currency"] == "btc")
    assert btc["average_price_jpy"] is None and btc["change_24h_percent"] is None
    page = holder.get("/").get_data(as_text=True)
    assert "100.1" in page and "-11,551" in page and "10.69" in page


def test_moving_average_and_discreet_mode(holder):
    assert holder.post("/gains/method", data={"method": "moving-average"}).status_code == 303
    assert holder.get("/api/balance").get_json()["net_assets"]["unrealized_jpy"] == "-11551"  # one buy: the same cost
    assert holder.post("/api/preferences", json={"discreet": True}).status_code == 200
    balance = holder.get("/api/balance").get_json()
    xem = next(row for row in balance["balances"] if row["currency"] == "xem")
    assert (xem["average_price_jpy"], xem["cost_jpy"], xem["unrealized_jpy"], xem["change_24h_jpy"]) == (None,) * 4
    assert (xem["unrealized_percent"], xem["change_24h_percent"]) == ("-11.54", "10.69")
    assert balance["net_assets"]["unrealized_percent"] == "-11.54" and balance["net_assets"]["unrealized_jpy"] is None
    page = holder.get("/").get_data(as_text=True)
    assert "-11,551" not in page and "-11.54" in page
