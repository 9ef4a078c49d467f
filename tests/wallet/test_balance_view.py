"""The wallet's order (by value or by name) and "Hide small balances" below a threshold the
customer picks: saved on the account, through the no-JavaScript forms and /api/preferences, and
the same in the page and /api/balance."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from dashboard.extensions import db
from dashboard.models import Account
from dashboard.wallet.presentation import arrange_balances
from dashboard.wallet.views import read_small_balance_jpy


def saved(app) -> tuple:
    with app.app_context():
        return tuple(db.session.execute(
            select(Account.balance_order, Account.hide_small_balances, Account.small_balance_jpy)).one())


def list_codes(html: str, *, shown_only: bool = False) -> list[str]:
    items = re.findall(r'<li class="balance-item[^"]*" data-currency="([a-z]+)"([^>]*)>', html)
    return [code for code, rest in items if not (shown_only and " hidden" in rest)]


def table_codes(html: str) -> list[str]:
    return re.findall(r'<tr data-currency="([a-z]+)"', html)


def test_defaults_value_order_and_small_balances_shown(app, signed_in):
    assert saved(app) == ("value", False, 1000)
    html = signed_in.get("/").get_data(as_text=True)
    assert list_codes(html)[:3] == ["jpy", "xem", "btc"] and list_codes(html) == table_codes(html)
    assert list_codes(html, shown_only=True) == list_codes(html)
    assert 'value="1000" data-view-field="small_balance_jpy"' in html


def test_order_by_name_through_the_form_in_both_languages(app, signed_in):
    response = signed_in.post("/preferences/balance-view", data={"balance_order": "name", "small_balance_jpy": "1,000", "next": "/"})
    assert response.status_code == 302 and saved(app) == ("name", False, 1000)
    html = signed_in.get("/").get_data(as_text=True)
    assert list_codes(html)[:3] == ["rep", "btc", "bch"]  # Augur, Bitcoin, Bitcoin Cash
    data = signed_in.get("/api/balance").get_json()
    assert [row["currency"] for row in data["balances"]] == list_codes(html) and data["balance_order"] == "name"
    signed_in.set_cookie("lang", "ja")
    names = [row["formatted"]["name"] for row in signed_in.get("/api/balance").get_json()["balances"]]
    assert names == sorted(names, key=str.casefold)


def test_hide_small_balances_with_a_threshold(app, signed_in):
    signed_in.post("/api/preferences", json={"hide_small_balances": True, "small_balance_jpy": 100_000})
    assert saved(app) == ("value", True, 100_000)
    data = signed_in.get("/api/balance").get_json()
    shown = [row["currency"] for row in data["balances"] if not row["hidden"]]
    assert shown == ["jpy", "xem", "btc", "xrp", "eth"]
    for row in data["balances"]:
        assert row["small"] == (Decimal(row["total_jpy"]) < 100_000)
    html = signed_in.get("/").get_data(as_text=True)
    assert list_codes(html, shown_only=True) == shown
    # Zero balances are small too: hidden by either switch.
    signed_in.post("/api/preferences", json={"small_balance_jpy": 0})
    data = signed_in.get("/api/balance").get_json()
    assert [row["currency"] for row in data["balances"] if row["hidden"]] == []


def test_every_balance_small_says_so(app, signed_in):
    signed_in.post("/api/preferences", json={"hide_small_balances": True, "small_balance_jpy": 1_000_000_000})
    html = signed_in.get("/").get_data(as_text=True)
    assert list_codes(html, shown_only=True) == []
    assert re.search(r'data-notice="all-small">Every balance is below your threshold', html)
    assert re.search(r'data-notice="all-hidden" hidden>', html)


def test_hide_small_balances_switch_without_javascript(app, signed_in):
    response = signed_in.post("/preferences/small-balances", data=MultiDict([("hide_small_balances", "n"), ("hide_small_balances", "y"), ("next", "/")]))
    assert response.status_code == 302 and saved(app)[1] is True
    assert "Saved: currencies worth less than your threshold are hidden." in signed_in.get("/").get_data(as_text=True)


@pytest.mark.parametrize("form", [
    {"balance_order": "size", "small_balance_jpy": "1000"},
    {"balance_order": "", "small_balance_jpy": "1000"},
    {"small_balance_jpy": "1000"},
    {"balance_order": "name", "small_balance_jpy": ""},
    {"balance_order": "name", "small_balance_jpy": "-1"},
    {"balance_order": "name", "small_balance_jpy": "1.5"},
    {"balance_order": "name", "small_balance_jpy": "1000000001"},
    {"balance_order": "name", "small_balance_jpy": "１０００"},
    {"balance_order": "name", "small_balance_jpy": "99999999999999999999"},
    {"balance_order": "name", "small_balance_jpy": "1e3"},
])
def test_bad_view_forms_are_refused_and_change_nothing(app, signed_in, form):
    response = signed_in.post("/preferences/balance-view", data={**form, "next": "/"})
    assert response.status_code == 400
    assert saved(app) == ("value", False, 1000)


@pytest.mark.parametrize("payload", [
    {"balance_order": "size"}, {"balance_order": None}, {"small_balance_jpy": -1}, {"small_balance_jpy": 1_000_000_001},
    {"small_balance_jpy": True}, {"small_balance_jpy": "1000"}, {"small_balance_jpy": 1.5}, {"hide_small_balances": "yes"},
    {"hide_small_balances": True, "small_balance_jpy": -5},
])
def test_bad_api_choices_are_refused_and_change_nothing(app, signed_in, payload):
    response = signed_in.post("/api/preferences", json=payload)
    assert response.status_code == 400
    assert saved(app) == ("value", False, 1000)


@pytest.mark.parametrize("text, value", [("1000", 1000), ("1,000", 1000), (" 0 ", 0), ("1000000000", 1_000_000_000),
                                         ("", None), ("1000000001", None), ("-1", None), ("１", None), ("12a", None)])
def test_read_small_balance_jpy(text, value):
    assert read_small_balance_jpy(text) == value


def row(code, total, name=None, zero=False):
    return {"currency": code, "total_jpy": total, "zero": zero, "formatted": {"name": name or code.upper()}}


def test_arrange_balances_orders_by_value_without_rate_last_and_stably():
    document = {"balances": [row("a", "5"), row("b", None), row("c", "10"), row("d", "5"), row("e", "0", zero=True)]}
    arranged = arrange_balances(document, order="value", hide_zero=True, hide_small=False, small_jpy=6)
    assert [r["currency"] for r in arranged["balances"]] == ["c", "a", "d", "e", "b"]
    assert [r["small"] for r in arranged["balances"]] == [False, True, True, True, False]
    assert [r["hidden"] for r in arranged["balances"]] == [False, False, False, True, False]
    assert document["balances"][0]["currency"] == "a" and "small" not in document["balances"][0]  # the shared document untouched
    with pytest.raises(ValueError):
        arrange_balances(document, order="size", hide_zero=False, hide_small=False, small_jpy=0)


def test_english_names_that_are_their_code_are_said_once(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    assert "XRP</span> <span class=\"currency-code\">XRP" not in html
    assert '<span class="currency-name">NEM</span> <span class="currency-code">XEM</span>' in html
