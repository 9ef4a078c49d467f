"""The wallet page and /api/balance: exact figures, the source's filters, the header switch."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from tests_support import count_queries, drop_read_cache
from werkzeug.datastructures import MultiDict

from dashboard.core.formatting import cut_decimal_zero, number
from dashboard.extensions import db
from dashboard.models import Account, Currency, Rate

EXPONENT = re.compile(r"[eE]")


def header_html(html: str) -> str:
    return re.search(r'<header class="site-header">.*?</header>', html, re.S).group(0)


def test_api_balance_is_exact_and_adds_up(signed_in):
    data = signed_in.get("/api/balance").get_json()
    assert data["complete"] is True and data["missing_rates"] == []
    assert data["show_in_header"] is True
    total = Decimal(0)
    for row in data["balances"]:
        for key in ("available", "in_use", "rate_jpy", "available_jpy", "in_use_jpy"):
            assert isinstance(row[key], str) and not EXPONENT.search(row[key]), (key, row)
        assert Decimal(row["available_jpy"]) == Decimal(row["available"]) * Decimal(row["rate_jpy"])
        assert Decimal(row["in_use_jpy"]) == Decimal(row["in_use"]) * Decimal(row["rate_jpy"])
        total += Decimal(row["available_jpy"]) + Decimal(row["in_use_jpy"])
    assert Decimal(data["net_assets"]["jpy"]) == total
    assert data["net_assets"]["formatted"] == cut_decimal_zero(number(Decimal(data["net_assets"]["jpy"]), 1))
    codes = [row["currency"] for row in data["balances"]]
    # The largest yen value first: XEM (30 % of the demo's net assets) second after yen.
    assert codes[:3] == ["jpy", "xem", "btc"] and len(codes) == 14
    values = [Decimal(row["total_jpy"]) for row in data["balances"]]
    assert values == sorted(values, reverse=True)
    assert data["balance_order"] == "value" and data["hide_small_balances"] is False and data["small_balance_jpy"] == 1000
    xem = next(row for row in data["balances"] if row["currency"] == "xem")
    assert xem["rate_jpy"] == "88.549" and xem["available_jpy"] == "885490"


def test_page_shows_the_figures_the_api_gives(signed_in):
    data = signed_in.get("/api/balance").get_json()
    html = signed_in.get("/").get_data(as_text=True)
    assert f'<span class="yen">¥</span> <span data-field="net_assets">{data["net_assets"]["formatted"]}</span>' in html
    assert "Net Assets" in html and "Show in header" in html and "Available" in html and "In Use" in html
    btc = next(row for row in data["balances"] if row["currency"] == "btc")
    assert f'¥ {btc["formatted"]["available_jpy"]}' in html
    assert '<span data-field="available">0.12345678</span> BTC' in html
    # one widget per page: no duplicated ids
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_missing_rate_is_reported_and_left_out(app, signed_in):
    with app.app_context():
        db.session.delete(db.session.get(Rate, "btc"))
        db.session.commit()
    data = signed_in.get("/api/balance").get_json()
    assert data["complete"] is False and data["missing_rates"] == ["btc"]
    btc = next(row for row in data["balances"] if row["currency"] == "btc")
    assert btc["rate_jpy"] is None and btc["available_jpy"] is None and btc["in_use_jpy"] is None
    assert Decimal(data["net_assets"]["jpy"]) == sum(
        Decimal(r["available_jpy"]) + Decimal(r["in_use_jpy"]) for r in data["balances"] if r["rate_jpy"] is not None
    )
    html = signed_in.get("/").get_data(as_text=True)
    row = re.search(r'<tr data-currency="btc".*?</tr>', html, re.S).group(0)
    assert row.count("—") == 4  # available, in use and total in yen, and the share
    assert re.search(r'data-mark="missing">No rate<', row) and re.search(r"data-rate hidden", row)
    assert "Net assets leave out currencies without a rate:" in html and "BTC" in html


def test_old_rates_are_marked_stale(app, signed_in):
    with app.app_context():
        rate = db.session.get(Rate, "xem")
        rate.as_of = datetime.now(UTC) - timedelta(minutes=16)
        db.session.commit()
    data = signed_in.get("/api/balance").get_json()
    assert data["stale"] is True
    assert [r["currency"] for r in data["balances"] if r["stale"]] == ["xem"]
    html = signed_in.get("/").get_data(as_text=True)
    assert "Some rates are out of date." in html
    rows = dict(re.findall(r'<tr data-currency="([a-z]+)"(.*?)</tr>', html, re.S))
    assert 'data-mark="stale">' in rows["xem"] and 'data-mark="stale" hidden>' in rows["btc"]


def header_of_another_page(client) -> str:
    # The wallet page's header says the same as any other page's.
    html = client.get("/api-keys").get_data(as_text=True)
    wallet_header = header_html(client.get("/").get_data(as_text=True))
    assert 'id="header-net-assets"' in wallet_header and 'aria-current="page"' in wallet_header
    assert re.search(r'id="header-net-assets".*?</span>', wallet_header, re.S).group(0) == re.search(
        r'id="header-net-assets".*?</span>', header_html(html), re.S).group(0)
    return header_html(html)


def test_header_switch_through_the_api(app, signed_in):
    net_assets = signed_in.get("/api/balance").get_json()["net_assets"]["formatted"]
    header = header_of_another_page(signed_in)
    assert header.count("Net Assets") == 1 and f"¥ {net_assets}<" in header
    response = signed_in.post("/api/preferences", json={"show_in_header": False})
    assert response.status_code == 200 and response.get_json() == {"show_in_header": False}
    header = header_of_another_page(signed_in)
    assert "¥" not in header and net_assets not in header and header.count("Net Assets") == 1
    assert signed_in.get("/api/balance").get_json()["show_in_header"] is False
    signed_in.post("/api/preferences", json={"show_in_header": True})
    assert f"¥ {net_assets}<" in header_of_another_page(signed_in)


def test_header_switch_without_javascript(app, signed_in):
    response = signed_in.post("/preferences/header", data={"show_in_header": "n", "next": "/"})  # box unchecked
    assert response.status_code == 302 and response.location == "/"
    with app.app_context():
        assert db.session.execute(select(Account.show_net_assets_in_header)).scalar_one() is False
    assert "Saved: net assets are no longer shown in the header." in signed_in.get("/").get_data(as_text=True)
    assert signed_in.post("/preferences/header", data={"next": "/"}).status_code == 400  # nothing sent: refused
    signed_in.post("/preferences/header", data=MultiDict([("show_in_header", "n"), ("show_in_header", "y"), ("next", "//evil.example")]))
    with app.app_context():
        assert db.session.execute(select(Account.show_net_assets_in_header)).scalar_one() is True


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ('{"show_in_header": "false"}', "application/json"),
        ('{"show_in_header": 0}', "application/json"),
        ('{"show_in_header": null}', "application/json"),
        ('{"show_in_header": true, "email": "x"}', "application/json"),
        ('{"hide_zero_balances": "true"}', "application/json"),
        ('{"hide_zero_balances": 1}', "application/json"),
        ('{"show_in_header": false, "hide_zero_balances": "yes"}', "application/json"),
        ('{"hide_zero_balances": true, "hide_amounts": true}', "application/json"),
        ("[true]", "application/json"),
        ("{}", "application/json"),
        ('{"show_in_header": false}', "text/plain"),
    ],
)
def test_bad_preferences_are_refused_and_change_nothing(app, signed_in, body, content_type):
    response = signed_in.post("/api/preferences", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["success"] is False and response.get_json()["error"]
    with app.app_context():
        switches = db.session.execute(select(Account.show_net_assets_in_header, Account.hide_zero_balances)).one()
    assert tuple(switches) == (True, False)


# A figure read afresh: the wallet (the sign-in session with its account, one wallet query) and,
# for the page, what its charts are drawn from (the history's version, the journal and the
# period closes), each a fixed number of statements whatever the number of currencies. The
# history's version is one statement (its latest tick and the account's latest entry). The gains
# figures (wallet/gains_fields.py) add four: the account's fills, transfers and compensations, and
# the rates of 24 hours ago.
GAINS = 4
STATEMENTS = {"/api/balance": 2 + GAINS, "/": 2 + 7 + GAINS}


def forget_made_figures():
    """Drop what was made from the wallet rows (documents, charts), not only the rows."""
    from dashboard.ledger import net_asset_history
    from dashboard.wallet import gains_fields, history, holdings

    holdings._DOCUMENTS.clear()
    gains_fields._COSTS.clear()
    history._PAST_POINTS.clear()
    net_asset_history._RATE_STEPS.clear()


@pytest.mark.parametrize("path", ["/", "/api/balance"])
def test_a_constant_number_of_queries_however_many_currencies(app, signed_in, path):
    signed_in.get(path)  # warm up
    drop_read_cache(app)
    forget_made_figures()
    with count_queries(app) as before:
        assert signed_in.get(path).status_code == 200
    with app.app_context():
        for n in range(40):
            db.session.add(Currency(code=f"t{n:02d}", name=f"Test {n}", decimals=8, display_order=100 + n))
            db.session.add(Rate(currency_code=f"t{n:02d}", jpy_rate=Decimal("1.5"), as_of=datetime.now(UTC), source="test"))
        db.session.commit()
    drop_read_cache(app)
    forget_made_figures()
    with count_queries(app) as after:
        response = signed_in.get(path)
    assert response.status_code == 200
    assert len(after) == len(before) == STATEMENTS[path], "\n".join(s[:150] for s in after) + "\n----\n" + "\n".join(s[:150] for s in before)
