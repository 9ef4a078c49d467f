"""Authenticator codes, recovery codes, the second step of sign-in and the Security page."""
from __future__ import annotations

import hashlib
import re

import pyotp
import pytest
from conftest import sign_in
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import AuthenticatorApp, LoginSession, RecoveryCode


@pytest.fixture
def clock(monkeypatch):
    """The authenticator's clock, moved by hand: a new 30-second step without waiting."""
    from dashboard.accounts import authenticator

    moment = {"now": 1_800_000_000.0}
    monkeypatch.setattr(authenticator, "clock", lambda: moment["now"])
    return moment


def turn_on_authenticator(client, clock) -> tuple[str, list[str]]:
    assert client.post("/security/authenticator/start").status_code == 302
    page = client.get("/security").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    shown = client.post("/security/authenticator/enable", data={"code": pyotp.TOTP(secret).at(clock["now"])})
    assert shown.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", shown.get_data(as_text=True))
    assert len(codes) == 10
    clock["now"] += 30
    return secret, codes


def password_step(client, password="demopass"):
    return client.post("/login", data={"email": "demo@example.com", "password": password})


def test_turning_on_needs_a_valid_code_and_stores_the_secret_encrypted(app, signed_in, clock):
    signed_in.post("/security/authenticator/start")
    page = signed_in.get("/security").get_data(as_text=True)
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    wrong = signed_in.post("/security/authenticator/enable", data={"code": "000000" if pyotp.TOTP(secret).at(clock["now"]) != "000000" else "111111"})
    assert wrong.status_code == 400
    for bad in ("", "12345", "abcdef", "1" * 100, "12\x00456"):
        assert signed_in.post("/security/authenticator/enable", data={"code": bad}).status_code == 400
    with app.app_context():
        row = db.session.get(AuthenticatorApp, 1) or db.session.execute(select(AuthenticatorApp)).scalar_one()
        assert row.enabled_at is None and secret not in row.encrypted_secret
    assert signed_in.post("/security/authenticator/enable", data={"code": pyotp.TOTP(secret).at(clock["now"])}).status_code == 200
    with app.app_context():
        assert db.session.execute(select(AuthenticatorApp.enabled_at)).scalar_one() is not None
        hashes = db.session.execute(select(RecoveryCode.code_hash)).scalars().all()
        assert len(hashes) == 10


def test_with_the_authenticator_on_a_password_alone_never_signs_in(app, signed_in, clock):
    secret, _codes = turn_on_authenticator(signed_in, clock)
    signed_in.post("/logout")
    step = password_step(signed_in)
    assert step.status_code == 302 and step.headers["Location"].endswith("/login/verify")
    assert signed_in.get("/").status_code == 302  # not signed in yet
    assert signed_in.get("/api/balance").status_code == 401
    code = pyotp.TOTP(secret).at(clock["now"])
    assert signed_in.post("/login/verify", data={"code": code}).status_code == 302
    assert signed_in.get("/").status_code == 200


def test_a_code_is_accepted_once_only(app, client, signed_in, clock):
    secret, _codes = turn_on_authenticator(signed_in, clock)
    code = pyotp.TOTP(secret).at(clock["now"])
    first, second = app.test_client(), app.test_client()
    password_step(first)
    password_step(second)
    assert first.post("/login/verify", data={"code": code}).status_code == 302
    assert second.post("/login/verify", data={"code": code}).status_code == 401
    # nor an older code still inside its window
    password_step(second)
    assert second.post("/login/verify", data={"code": pyotp.TOTP(secret).at(clock["now"] - 30)}).status_code == 401
    clock["now"] += 30
    assert second.post("/login/verify", data={"code": pyotp.TOTP(secret).at(clock["now"])}).status_code == 302


def test_a_recovery_code_works_once(app, signed_in, clock):
    _secret, codes = turn_on_authenticator(signed_in, clock)
    browser = app.test_client()
    password_step(browser)
    used = browser.post("/login/verify", data={"code": codes[3].upper().replace("-", " ")})
    assert used.status_code == 302
    assert "you have 9 left" in browser.get("/").get_data(as_text=True)
    again = app.test_client()
    password_step(again)
    assert again.post("/login/verify", data={"code": codes[3]}).status_code == 401
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).scalar_one() == 1


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "memory://",
                                         "RATELIMIT_KEY_PREFIX": "second-step"}])
def test_the_second_step_is_throttled_like_the_first(app, signed_in, clock):
    turn_on_authenticator(signed_in, clock)
    guesser = app.test_client()
    password_step(guesser)
    statuses = [guesser.post("/login/verify", data={"code": f"{n:06d}"}).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_the_second_step_needs_the_first(client, demo):
    response = client.post("/login/verify", data={"code": "123456"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_a_factor_or_the_password_ends_the_other_sessions(app, signed_in, clock):
    other = app.test_client()
    sign_in(other)
    turn_on_authenticator(signed_in, clock)
    assert other.get("/").status_code == 302
    assert signed_in.get("/").status_code == 200
    third = app.test_client()
    password_step(third)
    third.post("/login/verify", data={"code": pyotp.TOTP(_secret_of(app)).at(clock["now"])})
    assert third.get("/").status_code == 200
    bad = signed_in.post("/security/password", data={"current_password": "nope", "new_password": "newpass123", "confirm": "newpass123"})
    assert bad.status_code == 400 and third.get("/").status_code == 200
    mismatch = signed_in.post("/security/password", data={"current_password": "demopass", "new_password": "newpass123", "confirm": "other"})
    assert mismatch.status_code == 400
    assert signed_in.post("/security/password", data={"current_password": "demopass", "new_password": "newpass123", "confirm": "newpass123"}).status_code == 302
    assert third.get("/").status_code == 302
    assert signed_in.get("/").status_code == 200


def _secret_of(app) -> str:
    from dashboard.core.secret_storage import SecretBox

    with app.app_context():
        encrypted = db.session.execute(select(AuthenticatorApp.encrypted_secret)).scalar_one()
        return SecretBox.from_config(app.config).decrypt(encrypted)


def test_security_page_lists_sessions_and_signs_out_everywhere_else(app, signed_in):
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = "OtherBrowser/1.0"
    sign_in(other)
    page = signed_in.get("/security").get_data(as_text=True)
    assert "OtherBrowser/1.0" in page and "127.0.0.1" in page
    assert signed_in.post("/security/sessions/end-others").status_code == 302
    assert other.get("/").status_code == 302
    assert signed_in.get("/").status_code == 200
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(LoginSession)).scalar_one() == 1


def test_turning_off_needs_the_password(app, signed_in, clock):
    turn_on_authenticator(signed_in, clock)
    assert signed_in.post("/security/authenticator/disable", data={"disable-password": "wrong"}).status_code == 400
    assert signed_in.post("/security/authenticator/disable", data={"disable-password": "demopass"}).status_code == 302
    signed_in.post("/logout")
    assert password_step(signed_in).headers["Location"].endswith("/")


def test_the_security_page_needs_sign_in(client):
    assert client.get("/security").status_code == 302
    assert client.post("/security/sessions/end-others").status_code == 302


@pytest.mark.parametrize("path", ["/security/passkeys/name", "/security/passkeys/remove"])
@pytest.mark.parametrize("passkey", ["", "x", "-1", "9" * 40, "１"])
def test_passkey_forms_refuse_bad_ids_without_error(signed_in, path, passkey):
    assert signed_in.post(path, data={"passkey": passkey, "name": "n"}).status_code == 302


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"id": 5}', b'{"name": "x"}', b"\xff\xfe"])
def test_passkey_endpoints_refuse_bad_bodies(signed_in, body):
    signed_in.post("/security/passkeys/options")
    assert signed_in.post("/security/passkeys", data=body, content_type="application/json").status_code == 400
    signed_in.post("/login/passkey/options")
    assert signed_in.post("/login/passkey", data=body, content_type="application/json").status_code in (302, 400, 401)


def test_a_passkey_challenge_is_answered_once_even_when_its_cookie_is_sent_again(app):
    from flask import session

    from dashboard.accounts import passkeys

    with app.test_request_context("/login/passkey"):
        passkeys.authentication_options()
        carried = dict(session["webauthn_authentication"])  # what the signed cookie carried
        assert passkeys._recall("authentication")["challenge"] == carried["challenge"]
        assert "webauthn_authentication" not in session
        session["webauthn_authentication"] = carried  # the same cookie, sent again
        with pytest.raises(passkeys.PasskeyError, match="answered before"):
            passkeys._recall("authentication")
        # The refusal left the session usable: another ceremony goes ahead.
        passkeys.authentication_options()
        passkeys._recall("authentication")


def test_spent_challenges_are_kept_only_until_they_would_have_expired(app):
    from datetime import timedelta

    from flask import session

    from dashboard.accounts import passkeys
    from dashboard.models import SpentChallenge, utcnow

    with app.test_request_context("/login/passkey"):
        db.session.add(SpentChallenge(digest="0" * 64, expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        passkeys.authentication_options()
        challenge = session["webauthn_authentication"]["challenge"]
        passkeys._recall("authentication")
        kept = db.session.execute(select(SpentChallenge)).scalars().all()
        assert [row.digest for row in kept] == [hashlib.sha256(challenge.encode()).hexdigest()]
        assert kept[0].expires_at > utcnow() + timedelta(seconds=passkeys.CHALLENGE_SECONDS - 5)


def test_the_set_up_qr_scales_to_its_box_and_the_key_is_shown_in_groups_of_four(signed_in):
    signed_in.post("/security/authenticator/start")
    page = signed_in.get("/security").get_data(as_text=True)
    svg = re.search(r"<svg[^>]*>", page).group(0)
    # A viewBox and no fixed size: the stylesheet sizes it, so it is never cropped.
    assert "viewBox=" in svg and "width=" not in svg and "height=" not in svg
    shown = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    groups = shown.split(" ")
    assert all(len(group) == 4 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 4
    # The copy control copies the key itself, without the spaces.
    assert f'data-copy="{shown.replace(" ", "")}"' in page


def test_grouped_key_keeps_every_character_in_order():
    from dashboard.accounts.authenticator import grouped_key

    assert grouped_key("ABCDEFGHIJ") == "ABCD EFGH IJ"
    assert grouped_key("ABCD") == "ABCD"
    assert grouped_key("") == ""
