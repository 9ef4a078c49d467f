"""Recent confirmation: adding a factor or an API key, or removing a passkey, needs the password
typed within CONFIRM_SECONDS in this browser (signing in counts), and every password typed on
a signed-in page is throttled like a sign-in."""
from __future__ import annotations

import uuid

import pytest
from conftest import sign_in
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import ApiKey, AuthenticatorApp, Passkey

CONFIRM_SECONDS = 600

# Each change that needs a recent confirmation, as its form or script sends it, and where the
# confirmation page comes back to.
GUARDED_FORMS = [
    ("/security/authenticator/start", {}, "/security#authenticator"),
    ("/security/authenticator/enable", {"code": "123456"}, "/security#authenticator"),
    ("/security/passkeys/remove", {"passkey": "1"}, "/security#passkeys"),
    ("/api-keys", {"read_balances": "y", "allowed_addresses": ""}, "/api-keys"),
]
GUARDED_SCRIPTS = ["/security/passkeys/options", "/security/passkeys"]


def age_confirmation(client, seconds: float) -> None:
    with client.session_transaction() as session:
        session["confirmed_at"] -= seconds


def add_passkey_row(app) -> int:
    from dashboard.models import Account

    with app.app_context():
        account_id = db.session.execute(select(Account.id).where(Account.email == "demo@example.com")).scalar_one()
        passkey = Passkey(account_id=account_id, credential_id="cred-" + uuid.uuid4().hex, public_key=b"k", name="Phone")
        db.session.add(passkey)
        db.session.commit()
        return passkey.id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_signing_in_counts_as_a_confirmation(app, signed_in):
    assert signed_in.post("/security/authenticator/start").status_code == 302
    assert count(app, AuthenticatorApp) == 1
    assert signed_in.post("/api-keys", data={"read_balances": "y", "allowed_addresses": ""}).status_code == 201


@pytest.mark.parametrize(("path", "data", "back_to"), GUARDED_FORMS)
def test_an_old_confirmation_sends_each_form_to_the_password_first(app, signed_in, path, data, back_to):
    passkey_id = add_passkey_row(app)
    if "passkey" in data:
        data = {"passkey": str(passkey_id)}
    age_confirmation(signed_in, CONFIRM_SECONDS + 1)
    before = {model: count(app, model) for model in (ApiKey, AuthenticatorApp, Passkey)}
    answer = signed_in.post(path, data=data)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/security/confirm?next=" + back_to.replace("#", "%23")
    # Nothing was changed.
    assert {model: count(app, model) for model in before} == before
    page = signed_in.get(answer.headers["Location"])
    assert "Confirm your password to make this change." in page.get_data(as_text=True)


@pytest.mark.parametrize("path", GUARDED_SCRIPTS)
def test_an_old_confirmation_gives_the_passkey_script_the_page_to_go_to(signed_in, path):
    age_confirmation(signed_in, CONFIRM_SECONDS + 1)
    answer = signed_in.post(path, json={})
    assert answer.status_code == 403
    assert answer.json == {"success": False, "error": "Confirm your password to make this change.",
                           "redirect": "/security/confirm?next=/security%23passkeys"}


def test_a_confirmation_lasts_its_minutes_and_no_longer(signed_in):
    age_confirmation(signed_in, CONFIRM_SECONDS - 5)
    assert signed_in.post("/security/passkeys/options", json={}).status_code == 200
    age_confirmation(signed_in, 10)
    assert signed_in.post("/security/passkeys/options", json={}).status_code == 403


@pytest.mark.parametrize("value", [None, "1", 1.5, -1, 10**12, [1]])
def test_a_confirmation_time_that_is_not_a_past_moment_is_none(signed_in, value):
    with signed_in.session_transaction() as session:
        session["confirmed_at"] = value
    assert signed_in.post("/security/passkeys/options", json={}).status_code == 403


def test_the_password_confirms_and_comes_back(app, signed_in):
    age_confirmation(signed_in, CONFIRM_SECONDS + 1)
    page = signed_in.get("/security/confirm?next=/security%23passkeys")
    assert page.status_code == 200
    wrong = signed_in.post("/security/confirm", data={"confirm-password": "wrong", "next": "/security#passkeys"})
    assert wrong.status_code == 400
    assert "Incorrect password." in wrong.get_data(as_text=True)
    right = signed_in.post("/security/confirm", data={"confirm-password": "demopass", "next": "/security#passkeys"})
    assert right.status_code == 302
    assert right.headers["Location"] == "/security#passkeys"
    assert signed_in.post("/security/authenticator/start").status_code == 302
    assert count(app, AuthenticatorApp) == 1


@pytest.mark.parametrize("password", ["", "x" * 1025])
def test_the_confirmation_page_refuses_an_empty_or_overlong_password(signed_in, password):
    age_confirmation(signed_in, CONFIRM_SECONDS + 1)
    answer = signed_in.post("/security/confirm", data={"confirm-password": password})
    assert answer.status_code == 400
    assert signed_in.post("/security/passkeys/options", json={}).status_code == 403


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "\x00"])
def test_the_confirmation_page_only_goes_back_within_the_site(signed_in, next_path):
    age_confirmation(signed_in, CONFIRM_SECONDS + 1)
    answer = signed_in.post("/security/confirm", data={"confirm-password": "demopass", "next": next_path})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/security"


def test_the_confirmation_page_needs_sign_in(client):
    answer = client.get("/security/confirm")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login")


def test_the_confirmation_page_is_in_japanese(signed_in):
    signed_in.set_cookie("lang", "ja")
    page = signed_in.get("/security/confirm").get_data(as_text=True)
    assert "パスワードの再入力" in page
    assert "10 分間" in page


THROTTLED = {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "memory://"}


@pytest.fixture
def app_config():
    return {**THROTTLED, "RATELIMIT_KEY_PREFIX": "t-" + uuid.uuid4().hex}


@pytest.mark.parametrize(("path", "field"), [
    ("/security/confirm", "confirm-password"),
    ("/security/password", "current_password"),
    # Its form is shown only while the authenticator is on; what it checks is counted all the same.
    ("/security/authenticator/disable", "disable-password"),
])
def test_passwords_typed_while_signed_in_are_throttled_with_sign_in(client, demo, path, field):
    sign_in(client)
    data = {field: "wrong", "new_password": "another-password", "confirm": "another-password"}
    statuses = [client.post(path, data=data).status_code for _ in range(7)]
    # Three a minute on this browser's device cookie, then three on the account, as at sign-in.
    assert statuses == [400] * 6 + [429]
    refused = client.post(path, data={**data, field: "demopass"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert ("Too many sign-in attempts" in refused.get_data(as_text=True)) == (path != "/security/authenticator/disable")
    # The same account's sign-in counts the same guesses.
    client.post("/logout")
    assert client.post("/login", data={"email": "demo@example.com", "password": "demopass"}).status_code == 429
