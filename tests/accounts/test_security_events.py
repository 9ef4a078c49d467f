"""The Security page's "Recent activity": each sign-in and each change to how the account signs
in is recorded with its browser and address, shown newest first, to that account only."""
from __future__ import annotations

import uuid

import pyotp
import pytest
from conftest import sign_in
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Account, Passkey, SecurityEvent

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


def kinds(app, email="demo@example.com") -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(SecurityEvent.kind).join(Account, Account.id == SecurityEvent.account_id)
            .where(Account.email == email).order_by(SecurityEvent.id)).scalars())


@pytest.fixture
def from_an_iphone(client, demo):
    client.environ_base.update(HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="203.0.113.7")
    sign_in(client)
    return client


def test_a_sign_in_is_recorded_with_its_browser_and_address(app, from_an_iphone):
    assert kinds(app) == ["signed_in"]
    page = from_an_iphone.get("/security").get_data(as_text=True)
    activity = page[page.index('id="activity"'):page.index('id="password"')]
    assert ">Sign-in<" in activity and "Mobile Safari on iOS" in activity and "203.0.113.7" in activity


def test_a_wrong_password_records_nothing(app, client, demo):
    client.post("/login", data={"email": "demo@example.com", "password": "wrong"})
    assert kinds(app) == []


def test_each_change_is_recorded(app, from_an_iphone, monkeypatch):
    client = from_an_iphone
    client.post("/security/password", data={"current_password": "demopass", "new_password": "another-password",
                                            "confirm": "another-password"})
    client.post("/security/authenticator/start")
    from dashboard.accounts import authenticator

    with app.app_context():
        account_id = db.session.execute(select(Account.id).where(Account.email == "demo@example.com")).scalar_one()
        secret = authenticator.pending_secret(account_id)
    assert client.post("/security/authenticator/enable", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    client.post("/security/recovery-codes", data={"codes-password": "another-password"})
    client.post("/security/authenticator/disable", data={"disable-password": "another-password"})
    with app.app_context():
        passkey = Passkey(account_id=account_id, credential_id="c-" + uuid.uuid4().hex, public_key=b"k", name="Phone")
        db.session.add(passkey)
        db.session.commit()
        passkey_id = passkey.id
    client.post("/security/passkeys/remove", data={"passkey": str(passkey_id)})
    client.post("/security/sessions/end-others")
    assert client.post("/api-keys", data={"read_balances": "y", "allowed_addresses": ""}).status_code == 201
    assert kinds(app) == ["signed_in", "password_changed", "authenticator_on", "recovery_codes_new", "authenticator_off",
                          "passkey_removed", "signed_out_elsewhere", "api_key_created"]
    page = client.get("/security").get_data(as_text=True)
    activity = page[page.index('id="activity"'):page.index('id="password"')]
    # Newest first.
    assert activity.index(">API key created<") < activity.index(">Password changed<") < activity.index(">Sign-in<")


def test_a_refused_change_records_nothing(app, from_an_iphone):
    from_an_iphone.post("/security/password", data={"current_password": "wrong", "new_password": "another-password",
                                                    "confirm": "another-password"})
    from_an_iphone.post("/security/passkeys/remove", data={"passkey": "999999"})
    assert kinds(app) == ["signed_in"]


def test_the_activity_is_the_accounts_own_and_in_japanese(app, client, demo):
    from dashboard.accounts.store import create_account

    with app.app_context():
        create_account("other@example.com", "other-password")
        db.session.commit()
    sign_in(app.test_client(), email="other@example.com", password="other-password")
    sign_in(client)
    client.set_cookie("lang", "ja")
    page = client.get("/security").get_data(as_text=True)
    activity = page[page.index('id="activity"'):page.index('id="password"')]
    assert activity.count("<tr>") == 1 + 1  # the header row and the demo account's one sign-in
    assert "最近のログインと変更" in activity and ">ログイン<" in activity


def test_only_the_latest_are_shown(app, from_an_iphone):
    from dashboard.accounts import security_events

    for _ in range(security_events.SHOWN + 5):
        from_an_iphone.post("/security/sessions/end-others")
    page = from_an_iphone.get("/security").get_data(as_text=True)
    activity = page[page.index('id="activity"'):page.index('id="password"')]
    assert activity.count("<tr>") == 1 + security_events.SHOWN


def test_an_unknown_kind_is_refused(app):
    from dashboard.accounts import security_events

    with app.test_request_context("/"), pytest.raises(ValueError, match="unknown security event"):
        security_events.record(1, "made_up")


def test_sessions_purge_deletes_the_events_past_their_days(app, runner, from_an_iphone):
    from datetime import timedelta

    from dashboard.models import utcnow

    with app.app_context():
        account_id = db.session.execute(select(Account.id).where(Account.email == "demo@example.com")).scalar_one()
        db.session.add_all([SecurityEvent(account_id=account_id, kind="password_changed", at=utcnow() - timedelta(days=401)),
                            SecurityEvent(account_id=account_id, kind="passkey_added", at=utcnow() - timedelta(days=399))])
        db.session.commit()
    result = runner.invoke(args=["sessions", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 security event(s) older than 400 days deleted" in result.output
    assert kinds(app) == ["signed_in", "passkey_added"]
