"""The wallet's gains figures: average price, cost, unrealized gain and 24-hour change, exact,
on /api/balance and the page; hidden yen in discreet mode."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from conftest import sign_in
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # Formatted whole, as the page writes them: the sign before the yen sign, the price's zeros cut.
    assert {name: xem["formatted"][name] for name in ("average_price_jpy", "unrealized_jpy", "unrealized_percent",
                                                      "change_24h_jpy", "change_24h_percent")} == {
        "average_price_jpy": "¥ 100.1", "unrealized_jpy": "-¥ 11,551", "unrealized_percent": "-11.54",
        "change_24h_jpy": "+¥ 8,549", "change_24h_percent": "+10.69"}
    net = balance["net_assets"]
    assert (net["unrealized_jpy"], net["unrealized_percent"], net["change_24h_jpy"], net["change_24h_percent"]) == (
        "-11551", "-11.54", "8549", "10.69")
    jpy = next(row for row in balance["balances"] if row["currency"] == "jpy")
    assert "average_price_jpy" not in jpy
    # Nothing bought, no rate 24 hours ago: null.
    btc = next(row for row in balance["balances"] if row["currency"] == "btc")
    assert btc["average_price_jpy"] is None and btc["change_24h_percent"] is None
    page = holder.get("/").get_data(as_text=True)
    assert ">¥ 100.1<" in page and ">-¥ 11,551<" in page and ">+10.69<" in page
    # Net assets carry the sums, on the page as in the document.
    assert ('data-field="net_unrealized_jpy">-¥ 11,551<' in page and 'data-field="net_change_24h_jpy">+¥ 8,549<' in page)
    assert net["formatted_gains"] == {"unrealized_jpy": "-¥ 11,551", "unrealized_percent": "-11.54",
                                      "change_24h_jpy": "+¥ 8,549", "change_24h_percent": "+10.69"}


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
    assert "11,551" not in page and "-11.54" in page and ">¥ •••<" in page


# What a rate tick must not read again: the acquisition cost's sources (fills, transfers,
# compensation entries) and the rates of 24 hours ago. The wallet's own statement names the
# journal (its last sequence numbers), so the compensation read is told by its reason column.
COST_SOURCES = ("trades", "transfers", "reason_code", "rate_closes")


def _xem(document: dict) -> dict:
    return next(row for row in document["balances"] if row["currency"] == "xem")


def _fresh(app, client, path: str):
    """The answer made afresh: no figures, cost or page remembered, the read cache emptied."""
    from tests_support import drop_read_cache

    from dashboard.wallet import gains_fields, holdings
    holdings._DOCUMENTS.clear()  # noqa: SLF001
    gains_fields._COSTS.clear()  # noqa: SLF001
    drop_read_cache(app)
    return client.get(path)


def _tick(app, rate: str) -> None:
    from dashboard.ledger.rate_updates import set_rate

    with app.app_context():
        set_rate("xem", Decimal(rate))
        db.session.commit()


def test_a_rate_tick_reads_no_acquisition_cost_again(app, holder):
    from tests_support import count_queries

    from dashboard.wallet.gains_fields import boundary_of

    assert holder.get("/api/balance").status_code == 200 and holder.get("/").status_code == 200
    for attempt in range(2):  # once more if the clock crossed a 15-minute boundary meanwhile
        began = boundary_of(datetime.now(UTC))
        _tick(app, "90" if attempt == 0 else "91")
        with count_queries(app) as statements:
            balance = holder.get("/api/balance").get_json()
            page = holder.get("/").get_data(as_text=True)
        if boundary_of(datetime.now(UTC)) == began:
            break
    assert statements, "the tick was not read"
    assert [s for s in statements if any(source in s.lower() for source in COST_SOURCES)] == []
    rate = Decimal(_xem(balance)["rate_jpy"])
    assert rate in (Decimal(90), Decimal(91))
    # The new rate with the same cost (100,100) and the same rate 24 hours ago (80).
    assert _xem(balance)["unrealized_jpy"] == str(1000 * rate - 100100)
    assert _xem(balance)["change_24h_jpy"] == str(1000 * (rate - 80))
    assert balance == _fresh(app, holder, "/api/balance").get_json()
    assert f">-¥ {100100 - 1000 * rate:,}<" in page


def test_an_imported_fill_makes_the_cost_again(app, runner, holder):
    assert _xem(holder.get("/api/balance").get_json())["cost_jpy"] == "100100"
    result = runner.invoke(args=["trades", "import", "-"],
                           input=TRADES + "alice@example.com,X2,2017-08-01T10:00:00+09:00,xem_jpy,buy,1000,120,100,jpy\n")
    assert result.exit_code == 0, result.output
    balance = holder.get("/api/balance").get_json()
    # Total average: (100,100 + 120,100) ÷ 2,000 = 110.1 a unit, 220,200 for the 2,000 held.
    assert (_xem(balance)["average_price_jpy"], _xem(balance)["cost_jpy"]) == ("110.1", "220200")
    assert balance == _fresh(app, holder, "/api/balance").get_json()


def test_a_fill_that_leaves_the_balances_as_they_were_still_makes_the_cost_again(app, runner, holder):
    """A sale and a purchase of the same units at the same price leave every balance as it was,
    but not the total-average cost: the cost is keyed on the journal, not on the balances."""
    assert _xem(holder.get("/api/balance").get_json())["cost_jpy"] == "100100"
    result = runner.invoke(args=["trades", "import", "-"], input=TRADES
                           + "alice@example.com,X2,2017-08-01T10:00:00+09:00,xem_jpy,sell,500,200,0,jpy\n"
                           + "alice@example.com,X3,2017-08-02T10:00:00+09:00,xem_jpy,buy,500,200,0,jpy\n")
    assert result.exit_code == 0, result.output
    balance = holder.get("/api/balance").get_json()
    # (100,100 + 100,000) ÷ 1,500 = 133.4 a unit, 133,400 for the 1,000 held.
    assert (_xem(balance)["average_price_jpy"], _xem(balance)["cost_jpy"]) == ("133.4", "133400")
    assert balance == _fresh(app, holder, "/api/balance").get_json()


def test_a_changed_method_makes_the_cost_again(app, runner, holder):
    result = runner.invoke(args=["trades", "import", "-"], input=TRADES
                           + "alice@example.com,X2,2017-08-01T10:00:00+09:00,xem_jpy,sell,500,150,0,jpy\n"
                           + "alice@example.com,X3,2017-09-01T10:00:00+09:00,xem_jpy,buy,1000,120,100,jpy\n")
    assert result.exit_code == 0, result.output
    # Total average: (100,100 + 120,100) ÷ 2,000 = 110.1 a unit; 1,500 held: 165,150.
    assert (_xem(holder.get("/api/balance").get_json())["cost_jpy"]) == "165150"
    holder.get("/")
    assert holder.post("/gains/method", data={"method": "moving-average"}).status_code == 303
    # Moving average: 500 left at 100.1 = 50,050, plus 120,100 = 170,150 for 1,500.
    balance = holder.get("/api/balance").get_json()
    assert (_xem(balance)["average_price_jpy"], _xem(balance)["cost_jpy"]) == ("113.43", "170150")
    assert 'data-field="average_price_jpy">¥ 113.43<' in holder.get("/").get_data(as_text=True)
    assert balance == _fresh(app, holder, "/api/balance").get_json()
    assert holder.post("/gains/method", data={"method": "total-average"}).status_code == 303
    assert _xem(holder.get("/api/balance").get_json())["cost_jpy"] == "165150"


def test_the_formatted_gains_read_as_amounts():
    """The sign before the yen sign, no sign on nothing, the price's fraction zeros cut (number,
    then cut_decimal_zero), grouped in the language's way."""
    from dashboard.wallet.gains_fields import _formatted

    shown = _formatted({"average_price_jpy": "61278.00", "unrealized_jpy": "-25888", "change_24h_jpy": "-0.4",
                        "unrealized_percent": "0.00", "change_24h_percent": "12.50", "cost_jpy": "1234567"}, "ja")
    assert shown == {"average_price_jpy": "¥ 61,278", "unrealized_jpy": "-¥ 25,888", "change_24h_jpy": "¥ 0",
                     "unrealized_percent": "0.00", "change_24h_percent": "+12.50", "cost_jpy": "¥ 1,234,567"}
    assert _formatted({"average_price_jpy": "0.5", "unrealized_jpy": "1234.5", "change_24h_jpy": None}, "en") == {
        "average_price_jpy": "¥ 0.5", "unrealized_jpy": "+¥ 1,235", "change_24h_jpy": None}


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-10**12, max_value=10**12),
       st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-10**12, max_value=10**12))
def test_percentages_are_the_exact_quotient_rounded_half_up(part, whole):
    """The tick's percentages are computed in integers; they equal the exact Fraction rounded half
    away from zero to 2 decimals."""
    from dashboard.core.cost_basis import to_decimal
    from dashboard.wallet.gains_fields import _percent

    if not whole:
        assert _percent(part, whole) is None
        return
    expected = to_decimal(Fraction(part) / Fraction(whole) * 100, 2)
    assert _percent(part, whole) == format(abs(expected) if expected.is_zero() else expected, "f")
