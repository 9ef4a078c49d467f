"""Per-currency totals, shares and names, the "Hide zero balances" switch, icons and titles."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from dashboard.core.currencies import CURRENCIES
from dashboard.core.valuation import share_percent
from dashboard.extensions import db
from dashboard.models import Account, Balance, Rate
from dashboard.wallet.currency_names import NAMES

ZERO_DEMO_CURRENCIES = {"rep", "zec"}  # the demo account holds none of these


def rows_by_code(data):
    return {row["currency"]: row for row in data["balances"]}


def test_api_rows_have_totals_shares_and_names(signed_in):
    data = signed_in.get("/api/balance").get_json()
    net = Decimal(data["net_assets"]["jpy"])
    shares = Decimal(0)
    for row in data["balances"]:
        assert Decimal(row["total"]) == Decimal(row["available"]) + Decimal(row["in_use"])
        assert Decimal(row["total_jpy"]) == Decimal(row["available_jpy"]) + Decimal(row["in_use_jpy"])
        assert re.fullmatch(r"\d{1,3}\.\d", row["share_percent"]), row
        exact = Decimal(row["total_jpy"]) * 100 / net
        assert abs(Decimal(row["share_percent"]) - exact) <= Decimal("0.05")
        shares += Decimal(row["share_percent"])
        assert row["zero"] is (row["currency"] in ZERO_DEMO_CURRENCIES)
    assert abs(shares - 100) < Decimal("0.1") * len(data["balances"])
    rows = rows_by_code(data)
    # XEM: 10,000 × 88.549 = 885,490 of 2,965,504.299 = 29.859...%
    assert rows["xem"]["total_jpy"] == "885490" and rows["xem"]["share_percent"] == "29.9"
    assert rows["rep"]["share_percent"] == "0.0" and rows["rep"]["total"] == "0"
    assert rows["btc"]["formatted"]["total"] == "0.17345678" and rows["btc"]["formatted"]["name"] == "Bitcoin"
    assert rows["xem"]["formatted"]["name"] == "NEM" and rows["xem"]["formatted"]["share_percent"] == "29.9"
    assert data["hide_zero_balances"] is False


def test_names_follow_the_language(signed_in):
    signed_in.set_cookie("lang", "ja")
    rows = rows_by_code(signed_in.get("/api/balance").get_json())
    assert rows["btc"]["formatted"]["name"] == "ビットコイン"
    assert rows["jpy"]["formatted"]["name"] == "日本円"
    html = signed_in.get("/").get_data(as_text=True)
    assert '<span class="currency-name">ビットコイン</span> <span class="currency-code">BTC</span>' in html


def test_every_seeded_currency_has_a_name_in_the_catalogue():
    assert {code: str(NAMES[code]) for code, _name, _d in CURRENCIES} == {code: name for code, name, _d in CURRENCIES}


@pytest.mark.parametrize(
    "part, whole, expected",
    [("299", "1000", "29.9"), ("2995", "100000", "3.0"), ("29949", "100000", "29.9"), ("1", "3", "33.3"),
     ("2", "3", "66.7"), ("0", "5", "0.0"), ("5", "5", "100.0"), ("0.0005", "1", "0.1"), ("0.00049999", "1", "0.0"),
     # half-up decided on the exact remainder, never on a rounded quotient
     ("5" + "0" * 29, "1" + "0" * 33, "0.1"), ("4" + "9" * 29, "1" + "0" * 33, "0.0"),
     ("5" + "0" * 29 + ".000000000000000001", "1" + "0" * 33, "0.1"), ("4" + "9" * 29 + ".999999999999999999", "1" + "0" * 33, "0.0")],
)
def test_share_is_rounded_half_up_to_one_decimal(part, whole, expected):
    assert format(share_percent(Decimal(part), Decimal(whole)), "f") == expected


def test_share_is_none_without_a_rate_or_net_assets():
    assert share_percent(None, Decimal(10)) is None
    assert share_percent(Decimal(0), Decimal(0)) is None
    with pytest.raises(ValueError):
        share_percent(Decimal(-1), Decimal(10))
    with pytest.raises(TypeError):
        share_percent(0.5, Decimal(10))


def test_share_is_null_for_a_row_without_a_rate_and_when_net_assets_are_zero(app, signed_in):
    with app.app_context():
        db.session.delete(db.session.get(Rate, "btc"))
        db.session.commit()
    rows = rows_by_code(signed_in.get("/api/balance").get_json())
    assert rows["btc"]["share_percent"] is None and rows["btc"]["total_jpy"] is None
    assert rows["btc"]["total"] == "0.17345678"
    with app.app_context():
        for balance in db.session.execute(select(Balance)).scalars():
            balance.available = balance.in_use = Decimal(0)
        db.session.commit()
    data = signed_in.get("/api/balance").get_json()
    assert data["net_assets"]["jpy"] == "0"
    assert {row["share_percent"] for row in data["balances"]} == {None}


def zero_rows_hidden(html: str) -> set[str]:
    return set(re.findall(r'<tr data-currency="([a-z]+)"[^>]* hidden>', html))


def test_hide_zero_balances_without_javascript(app, signed_in):
    assert zero_rows_hidden(signed_in.get("/").get_data(as_text=True)) == set()
    response = signed_in.post("/preferences/zero-balances", data=MultiDict([("hide_zero_balances", "n"), ("hide_zero_balances", "y"), ("next", "/")]))
    assert response.status_code == 302 and response.location == "/"
    html = signed_in.get("/").get_data(as_text=True)
    assert "Saved: currencies with a zero balance are hidden." in html
    assert zero_rows_hidden(html) == ZERO_DEMO_CURRENCIES
    assert zero_rows_hidden(signed_in.get("/").get_data(as_text=True)) == ZERO_DEMO_CURRENCIES  # the memoised page too
    # The header's panel lists the five largest holdings, never a zero one.
    panel = signed_in.get("/api-keys").get_data(as_text=True).split('id="wallet-panel"')[1]
    assert re.findall(r'<tr data-currency="([a-z]+)"', panel) == ["jpy", "xem", "btc", "xrp", "eth"]
    with app.app_context():
        assert db.session.execute(select(Account.hide_zero_balances)).scalar_one() is True
    signed_in.post("/preferences/zero-balances", data={"hide_zero_balances": "n", "next": "/"})
    html = signed_in.get("/").get_data(as_text=True)
    assert "Saved: every currency is shown." in html and zero_rows_hidden(html) == set()


@pytest.mark.parametrize("values", [[], ["y"], ["n", "n"], ["y", "n"], ["n", "y", "y"], ["n", "true"], ["n", "\x00"]])
def test_bad_zero_balance_forms_are_refused(app, signed_in, values):
    data = MultiDict([("hide_zero_balances", value) for value in values] + [("next", "/")])
    assert signed_in.post("/preferences/zero-balances", data=data).status_code == 400
    with app.app_context():
        assert db.session.execute(select(Account.hide_zero_balances)).scalar_one() is False


def test_hide_zero_balances_through_the_api(app, signed_in):
    response = signed_in.post("/api/preferences", json={"hide_zero_balances": True})
    assert response.status_code == 200 and response.get_json() == {"hide_zero_balances": True}
    assert signed_in.get("/api/balance").get_json()["hide_zero_balances"] is True
    assert zero_rows_hidden(signed_in.get("/").get_data(as_text=True)) == ZERO_DEMO_CURRENCIES
    response = signed_in.post("/api/preferences", json={"hide_zero_balances": False, "show_in_header": False})
    assert response.get_json() == {"hide_zero_balances": False, "show_in_header": False}
    with app.app_context():
        assert tuple(db.session.execute(select(Account.show_net_assets_in_header, Account.hide_zero_balances)).one()) == (False, False)


def test_every_zero_hidden_says_so(app, signed_in):
    with app.app_context():
        for balance in db.session.execute(select(Balance)).scalars():
            balance.available = balance.in_use = Decimal(0)
        db.session.commit()
    signed_in.post("/api/preferences", json={"hide_zero_balances": True})
    html = signed_in.get("/").get_data(as_text=True)
    assert len(zero_rows_hidden(html)) == 14
    assert re.search(r'data-notice="all-hidden">Every balance is zero', html)


def test_icons_are_the_vendored_logos_with_a_drawn_fallback(app, signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    icons = re.findall(r'<img class="currency-icon" src="([^"]+)"', html)
    # Each currency twice: its compact row (below 64rem) and its table row.
    assert icons[:2] == ["/static/icons/currencies/jpy.svg", "/static/icons/currencies/xem.svg"] and len(icons) == 28
    for url in set(icons):
        response = signed_in.get(url)
        assert response.status_code == 200 and b"<svg" in response.data
    with app.test_request_context():
        from dashboard.wallet.icons import currency_icon

        assert currency_icon("zzz") == "/static/icons/currencies/generic.svg"
        assert currency_icon("../../secret") == "/static/icons/currencies/generic.svg"


def test_the_icons_licence_and_version_are_recorded(app):
    from pathlib import Path

    folder = Path(app.static_folder, "icons", "currencies")
    assert "CC0 1.0 Universal" in (folder / "LICENSE.md").read_text()
    assert "cryptocurrency-icons 0.18.1" in (folder / "README.md").read_text()


# The wallet is the home page: titled by the site's name alone (ウォレット in Japanese), never doubled.
@pytest.mark.parametrize("lang, title", [("ja", "<title>ウォレット</title>"), ("en", "<title>Wallet dashboard</title>")])
def test_the_title_is_not_doubled(signed_in, lang, title):
    signed_in.set_cookie("lang", lang)
    html = signed_in.get("/").get_data(as_text=True)
    assert title in html


def test_net_assets_said_once_per_view(signed_in):
    wallet = signed_in.get("/").get_data(as_text=True)
    visible = re.sub(r'<[^>]+>', " ", wallet)
    assert visible.count("Net Assets") == 2  # the header's figure (shown on every page) and the wallet's heading
    other = signed_in.get("/api-keys").get_data(as_text=True)
    assert re.sub(r'<[^>]+>', " ", other).count("Net Assets") == 1  # the header's control; the panel is titled "Wallet"


def test_in_use_is_explained_in_the_columns_words(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    assert '<p class="hint" id="in-use-explained">In Use: ' in html and 'aria-describedby="in-use-explained"' in html
    signed_in.set_cookie("lang", "ja")
    html = signed_in.get("/").get_data(as_text=True)
    assert '<p class="hint" id="in-use-explained">「利用中」は、' in html
    assert "使用中" not in html and "注文中" not in html and "純資産" not in html
