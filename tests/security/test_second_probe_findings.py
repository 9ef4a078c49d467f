"""The second outside probe's findings (issue 33), each as a regression test: second-step
guessing spread over addresses, the signed-API lock-out, Host headers, answer types, names."""
from __future__ import annotations

import re
import uuid

import pyotp
import pytest
from conftest import sign_in
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import SecurityEvent

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def app_config():
    # The per-address and per-account sign-in limit high enough to stay out of the way: what is
    # tested here is the second step's own limit per account.
    return {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "100 per minute", "SECOND_STEP_LIMIT": "10 per hour",
            "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_KEY_PREFIX": "t-" + uuid.uuid4().hex, "TRUSTED_PROXIES": 1}


@pytest.fixture(params=["memory", "redis"])
def store(request, app):
    if request.param == "redis":
        from tests.security.test_throttling import redis_url

        app.extensions["failure_counters"] = FixedWindowRateLimiter(storage_from_string(redis_url()))
    return request.param


@pytest.fixture
def clock(monkeypatch):
    from dashboard.accounts import authenticator

    moment = {"now": 1_800_000_000.0}
    monkeypatch.setattr(authenticator, "clock", lambda: moment["now"])
    return moment


@pytest.fixture
def owner(app, demo, clock):
    """The demo account signed in, with authenticator codes on; returns (client, secret)."""
    client = app.test_client()
    sign_in(client)
    assert client.post("/security/authenticator/start").status_code == 302
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', client.get("/security").get_data(as_text=True)).group(1)
    assert client.post("/security/authenticator/enable", data={"code": pyotp.TOTP(secret).at(clock["now"])}).status_code == 200
    clock["now"] += 30
    return client, secret


def wrong_code(secret, clock) -> str:
    valid = {pyotp.TOTP(secret).at(clock["now"] + step * 30) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def password_step(client, address, user_agent=FIREFOX):
    response = client.post("/login", data={"email": "demo@example.com", "password": "demopass"},
                           headers={"X-Forwarded-For": address, "User-Agent": user_agent})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/verify")


def code_step(client, code, address, user_agent=FIREFOX):
    return client.post("/login/verify", data={"code": code}, headers={"X-Forwarded-For": address, "User-Agent": user_agent})


# --- 1. the second step counted per account ------------------------------------------------

def test_five_addresses_codes_add_up_for_one_account(app, owner, clock, store):
    """The probe: the password, then wrong codes from five addresses, each well under its own
    limit. Ten failures in all lock the account's second step for the hour, for every address,
    the right code included; the Security page shows it."""
    owner_client, secret = owner
    statuses = []
    attackers = []
    for number in range(5):
        attacker, address = app.test_client(), f"198.51.100.{number + 1}"
        password_step(attacker, address)
        attackers.append((attacker, address))
        statuses += [code_step(attacker, wrong_code(secret, clock), address).status_code for _ in range(2)]
    assert statuses == [401] * 10
    # The eleventh, from any of them or from a sixth address, with a wrong or a right code: 429.
    eleventh = code_step(attackers[0][0], wrong_code(secret, clock), attackers[0][1])
    assert eleventh.status_code == 429
    assert 3500 <= int(eleventh.headers["Retry-After"]) <= 3600
    assert "locked" in eleventh.get_data(as_text=True)
    sixth = app.test_client()
    password_step(sixth, "203.0.113.6")
    right = code_step(sixth, pyotp.TOTP(secret).at(clock["now"]), "203.0.113.6")
    assert right.status_code == 429 and "Retry-After" in right.headers
    assert sixth.get("/api/balance").status_code == 401  # the password alone got nowhere
    with app.app_context():
        failures = db.session.execute(select(SecurityEvent).where(SecurityEvent.kind == "second_step_failed")).scalars().all()
        assert len(failures) == 10
        assert {event.address for event in failures} == {f"198.51.100.{n}" for n in range(1, 6)}
    # The owner, still signed in elsewhere, sees it on the Security page.
    page = owner_client.get("/security").get_data(as_text=True)
    warning = page[page.index('id="second-step-warning"'):]
    warning = warning[:warning.index("</section>")]
    assert "failed two-step verification 10 time(s)" in warning
    assert "locked after too many wrong codes, until" in warning
    for number in range(1, 6):
        assert f"198.51.100.{number}" in warning
    assert "Firefox on Windows" in warning
    assert "change your password" in warning


def test_a_correct_code_succeeds_after_failures_under_the_limit_and_counts_nothing(app, owner, clock, store):
    _owner_client, secret = owner
    browser = app.test_client()
    password_step(browser, "198.51.100.9")
    for _ in range(9):
        assert code_step(browser, wrong_code(secret, clock), "198.51.100.9").status_code == 401
    assert code_step(browser, pyotp.TOTP(secret).at(clock["now"]), "198.51.100.9").status_code == 302
    # The success took its own attempt back: one more failure is the tenth, not a refusal.
    clock["now"] += 30
    other = app.test_client()
    password_step(other, "198.51.100.10")
    assert code_step(other, wrong_code(secret, clock), "198.51.100.10").status_code == 401
    assert code_step(other, wrong_code(secret, clock), "198.51.100.10").status_code == 429


def test_recovery_codes_count_in_the_same_bucket(app, owner, clock):
    _owner_client, secret = owner
    browser = app.test_client()
    password_step(browser, "198.51.100.20")
    for _ in range(10):
        assert code_step(browser, "aaaa-bbbb-cccc", "198.51.100.20").status_code == 401
    assert code_step(browser, "aaaa-bbbb-cccc", "198.51.100.20").status_code == 429


def test_a_passkey_failure_at_the_second_step_counts_too(app, owner, clock):
    _owner_client, secret = owner
    browser = app.test_client()
    password_step(browser, "198.51.100.30")
    for _ in range(9):
        assert code_step(browser, wrong_code(secret, clock), "198.51.100.30").status_code == 401
    refused = browser.post("/login/passkey?step=second", data=b'{"id": "nope"}', content_type="application/json",
                           headers={"X-Forwarded-For": "198.51.100.30"})
    assert refused.status_code == 401 and refused.is_json
    locked = browser.post("/login/passkey?step=second", data=b'{"id": "nope"}', content_type="application/json",
                          headers={"X-Forwarded-For": "198.51.100.30"})
    assert locked.status_code == 429 and locked.get_json()["success"] is False and "Retry-After" in locked.headers


def test_the_next_sign_in_says_who_failed_the_second_step(app, owner, clock):
    owner_client, secret = owner
    owner_client.post("/logout")
    attacker = app.test_client()
    password_step(attacker, "198.51.100.40")
    for _ in range(3):
        assert code_step(attacker, wrong_code(secret, clock), "198.51.100.40").status_code == 401
    password_step(owner_client, "192.0.2.1", user_agent="")
    assert code_step(owner_client, pyotp.TOTP(secret).at(clock["now"]), "192.0.2.1", user_agent="").status_code == 302
    page = owner_client.get("/security").get_data(as_text=True)
    flashed = page[page.index('class="flashes"'):][:1000]
    assert "failed two-step verification 3 time(s) since you last signed in" in flashed
    assert "198.51.100.40 (Firefox on Windows)" in flashed
    assert "change your password" in flashed
    # Said once: the sign-in after that has nothing new to report.
    clock["now"] += 30
    owner_client.post("/logout")
    password_step(owner_client, "192.0.2.1")
    assert code_step(owner_client, pyotp.TOTP(secret).at(clock["now"]), "192.0.2.1").status_code == 302
    assert "failed two-step verification" not in owner_client.get("/security").get_data(as_text=True).split('id="second-step-warning"')[0]


def test_the_warning_is_in_japanese_too(app, owner, clock):
    owner_client, secret = owner
    attacker = app.test_client()
    password_step(attacker, "198.51.100.50")
    assert code_step(attacker, wrong_code(secret, clock), "198.51.100.50").status_code == 401
    owner_client.set_cookie("lang", "ja")
    page = owner_client.get("/security").get_data(as_text=True)
    assert "二段階認証に 1 回失敗しました" in page
    assert "Windows の Firefox" in page


def test_a_password_change_answers_the_warning(app, owner, clock):
    owner_client, secret = owner
    attacker = app.test_client()
    password_step(attacker, "198.51.100.60")
    assert code_step(attacker, wrong_code(secret, clock), "198.51.100.60").status_code == 401
    assert 'id="second-step-warning"' in owner_client.get("/security").get_data(as_text=True)
    changed = owner_client.post("/security/password", data={"current_password": "demopass", "new_password": "a-new-password",
                                                             "confirm": "a-new-password"})
    assert changed.status_code == 302
    assert 'id="second-step-warning"' not in owner_client.get("/security").get_data(as_text=True)


def test_the_limit_is_a_setting_checked_at_start(database_urls):
    from conftest import make_app

    from dashboard.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="SECOND_STEP_LIMIT"):
        make_app(database_urls("sqlite"), SECOND_STEP_LIMIT="ten an hour")
