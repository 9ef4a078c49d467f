"""One account can never read or change another's balances or preferences."""
from __future__ import annotations

from decimal import Decimal

from conftest import sign_in
from sqlalchemy import select

from dashboard.accounts.store import create_account
from dashboard.extensions import db
from dashboard.ledger.changes import BalanceChange, apply_changes
from dashboard.models import Account


def make_other(app):
    with app.app_context():
        other = create_account("other@example.com", "other-password")
        apply_changes([BalanceChange(other.id, "btc", Decimal("7.77777777"), Decimal("1"))], reason="test", source="test")
        db.session.commit()
        return other.id


def test_routes_name_no_account(app):
    for rule in app.url_map.iter_rules():
        assert not rule.arguments - {"filename"}, rule.rule


def test_each_account_sees_only_its_own_balances(app, client, demo):
    other_id = make_other(app)
    sign_in(client)
    for query in ({}, {"account_id": other_id}, {"email": "other@example.com"}, {"id": other_id}):
        body = client.get("/api/balance", query_string=query).get_data(as_text=True)
        assert "7.77777777" not in body
        page = client.get("/", query_string=query).get_data(as_text=True)
        assert "7.77777777" not in page
    other = app.test_client()
    sign_in(other, "other@example.com", "other-password")
    btc = next(r for r in other.get("/api/balance").get_json()["balances"] if r["currency"] == "btc")
    assert btc["available"] == "7.77777777"


def test_preferences_change_only_the_signed_in_account(app, client, demo):
    other_id = make_other(app)
    sign_in(client)
    client.post("/api/preferences", json={"show_in_header": False})
    client.post("/api/preferences", json={"show_in_header": False, "account_id": other_id})
    client.post("/language/", data={"lang": "en", "account_id": other_id})
    with app.app_context():
        other = db.session.get(Account, other_id)
        assert other.show_net_assets_in_header is True and other.preferred_language is None
        demo_account = db.session.execute(select(Account).where(Account.email == "demo@example.com")).scalar_one()
        assert demo_account.show_net_assets_in_header is False and demo_account.preferred_language == "en"
