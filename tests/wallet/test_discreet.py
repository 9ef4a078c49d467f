"""Discreet mode ("Hide amounts"): saved on the account by JSON or a plain form, and when on no
amount leaves the server in any page or browser API answer; shares and the history's shape stay."""
from __future__ import annotations

import re

import pytest
from conftest import csrf_token_in
from sqlalchemy import select

from dashboard.core.formatting import amount, cut_decimal_zero, number, plain
from dashboard.extensions import db
from dashboard.ledger.demo import DEMO_BALANCES, DEMO_RATES, seed_demo
from dashboard.models import Account, Currency

ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")
PAGES = ["/", "/?range=1d", "/?range=1w", "/?range=1m", "/?range=all", "/api-keys", "/api/balance",
         "/api/history?range=1d", "/api/history?range=1y", "/api/history?range=all"]


def demo_amount_texts(app) -> set[str]:
    """Every demo amount in every format the app writes one: exact, grouped, per language, at the
    currency's decimals, its JPY value; only those long enough to be told apart from other text."""
    with app.app_context():
        decimals = dict(db.session.execute(select(Currency.code, Currency.decimals)).all())
    texts, net = set(), 0
    for code, (available, in_use) in DEMO_BALANCES.items():
        rate = 1 if code == "jpy" else DEMO_RATES[code]
        net += (available + in_use) * rate
        for value in (available, in_use, available + in_use):
            for locale in ("en", "ja"):
                texts |= {plain(value), amount(value, decimals[code], locale=locale),
                          cut_decimal_zero(number(value * rate, locale=locale)), plain(value * rate)}
    for locale in ("en", "ja"):
        texts |= {plain(net), cut_decimal_zero(number(net, 1, locale=locale)), number(net, locale=locale)}
    # Rates are public prices and stay; an amount that reads the same as one (1 XMR is worth its
    # rate) cannot be told apart from it. Short figures ("0", "10", "1.5") occur in any page.
    # The JSON checks below cover both.
    rate_texts = {form for rate in DEMO_RATES.values() for locale in ("en", "ja")
                  for form in (plain(rate), cut_decimal_zero(number(rate, locale=locale)))}
    return {text for text in texts
            if len(re.sub(r"\D", "", text)) >= 4 and not any(text in rate_text for rate_text in rate_texts)}


@pytest.fixture
def story():
    return False


@pytest.fixture
def discreet_client(app, client, story):
    with app.app_context():
        seed_demo(story=story)
    client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    assert client.post("/api/preferences", json={"discreet": True}).get_json() == {"discreet": True}
    return client


@pytest.mark.parametrize("story", [True])
def test_no_amount_in_any_response(app, discreet_client):
    texts = demo_amount_texts(app)
    assert {"1,234,567", "2,965,504.3", "0.12345678", "885,490", "1,284,567"} <= texts and len(texts) > 60
    for language in ("en", "ja"):
        for path in PAGES:
            response = discreet_client.get(path, headers={"Accept-Language": language})
            assert response.status_code == 200, path
            # Times are not amounts: a moment's microseconds (".123000") could spell one by chance.
            body = ISO_MOMENT.sub("<moment>", response.get_data(as_text=True))
            leaked = sorted(text for text in texts if text in body)
            assert not leaked, (path, language, leaked)


def test_amount_fields_are_null_and_formatted_hidden(app, discreet_client):
    balance = discreet_client.get("/api/balance").get_json()
    net = balance["net_assets"]
    assert (net["jpy"], net["formatted"], balance["discreet"]) == (None, "•••", True)
    # The gains' yen amounts are hidden too; only percentages may stay (wallet/gains_fields.py).
    assert net["unrealized_jpy"] is None and net["change_24h_jpy"] is None
    assert set(net) == {"jpy", "formatted", "unrealized_jpy", "unrealized_percent", "change_24h_jpy", "change_24h_percent",
                        "formatted_gains"}
    for row in balance["balances"]:
        assert [row[name] for name in ("available", "in_use", "available_jpy", "in_use_jpy")] == [None] * 4
        assert {row["formatted"][name] for name in ("available", "in_use", "available_jpy", "in_use_jpy")} == {"•••"}
    history = discreet_client.get("/api/history?range=1y").get_json()
    assert {point["jpy"] for point in history["points"]} == {None}
    assert {point["formatted"] for point in history["points"]} == {"•••"}
    assert history["points"][-1]["index"] is not None  # the shape stays
    page = discreet_client.get("/").get_data(as_text=True)
    assert 'class="allocation-bar"' in page and "43.3%" in page  # shares stay
    assert 'id="discreet" name="discreet" value="y" checked' in page


def test_the_history_shape_is_the_same_with_and_without(app, discreet_client):
    hidden = discreet_client.get("/api/history?range=1y").get_json()
    discreet_client.post("/api/preferences", json={"discreet": False})
    shown = discreet_client.get("/api/history?range=1y").get_json()
    assert [p["index"] for p in hidden["points"][:-1]] == [p["index"] for p in shown["points"][:-1]]
    assert shown["points"][-1]["jpy"] == discreet_client.get("/api/balance").get_json()["net_assets"]["jpy"]


def test_switching_off_shows_amounts_again_on_the_memoised_page(app, discreet_client):
    assert "2,965,504.3" not in discreet_client.get("/").get_data(as_text=True)
    discreet_client.post("/api/preferences", json={"discreet": False})
    assert "2,965,504.3" in discreet_client.get("/").get_data(as_text=True)
    discreet_client.post("/api/preferences", json={"discreet": True})
    assert "2,965,504.3" not in discreet_client.get("/").get_data(as_text=True)


def test_the_no_javascript_form(app, client, demo):
    client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    response = client.post("/preferences/discreet", data={"discreet": ["n", "y"], "next": "/api-keys"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/api-keys")
    with app.app_context():
        assert db.session.execute(select(Account.discreet)).scalar_one() is True
    client.post("/preferences/discreet", data={"discreet": "n"})
    with app.app_context():
        assert db.session.execute(select(Account.discreet)).scalar_one() is False


@pytest.mark.parametrize("values", [[], ["y"], ["n", "n"], ["n", "y", "y"], ["on"], ["n", "true"]])
def test_the_form_refuses_anything_else(app, client, demo, values):
    client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    response = client.post("/preferences/discreet", data={"discreet": values})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.execute(select(Account.discreet)).scalar_one() is False


@pytest.mark.parametrize("payload", [{"discreet": "true"}, {"discreet": 1}, {"discreet": None}, {"discreet": True, "show_in_header": "yes"},
                                     {"Discreet": True}, {}, [True], "true", {"discreet": [True]}])
def test_the_api_refuses_anything_but_booleans_of_the_switches(app, signed_in, payload):
    response = signed_in.post("/api/preferences", json=payload)
    assert response.status_code == 400 and response.is_json and response.get_json()["error"]
    with app.app_context():
        assert db.session.execute(select(Account.discreet, Account.show_net_assets_in_header)).one() == (False, True)


def test_the_form_needs_its_csrf_token(app, client, demo):
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": "demo@example.com", "password": "demopass", "csrf_token": token})
    assert client.post("/preferences/discreet", data={"discreet": ["n", "y"]}).status_code == 400
    assert client.post("/api/preferences", json={"discreet": True}).status_code == 400
    with app.app_context():
        assert db.session.execute(select(Account.discreet)).scalar_one() is False


def test_the_signed_exchange_api_is_not_affected(app, discreet_client):
    from dashboard.core.signing import sign
    from dashboard.exchange_api.key_store import create_key

    with app.app_context():
        new = create_key(db.session.execute(select(Account.id)).scalar_one(), source="cli")
        access_key, secret = new.key.access_key, new.secret
        db.session.commit()
    url, nonce = "http://localhost/api/accounts/balance", "1700000000001"
    headers = {"ACCESS-KEY": access_key, "ACCESS-NONCE": nonce, "ACCESS-SIGNATURE": sign(secret, nonce, url, b"")}
    body = app.test_client().get(url, headers=headers).get_json()
    assert body["success"] is True and body["jpy"] == "1234567" and body["btc"] == "0.12345678"
