"""The outside probe's findings (issue 17), each as a regression test."""
from __future__ import annotations

import http.client
import re
import urllib.parse
import uuid
from datetime import timedelta

import pytest
from conftest import sign_in
from sqlalchemy import select, update

from dashboard.extensions import db
from dashboard.models import LoginSession, utcnow

LIMIT = "3 per minute"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT": LIMIT, "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": "t-" + uuid.uuid4().hex}


def attempt(client, address, email="demo@example.com", password="wrong-password"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


# --- lock-out of any account from one address ---------------------------------------------

def test_failures_elsewhere_never_lock_out_a_browser_with_its_device_cookie(app, demo):
    customer, attacker = app.test_client(), app.test_client()
    assert attempt(customer, "127.0.0.2", password="demopass").status_code == 302
    customer.post("/logout")
    assert customer.get_cookie("device") is not None
    for _ in range(10):
        attacker_answer = attempt(attacker, "127.0.0.3")
        assert attacker_answer.status_code in (401, 429)
    # The account's own bucket is spent: a browser without the cookie is refused ...
    assert attempt(app.test_client(), "127.0.0.4", password="demopass").status_code == 429
    # ... but the customer's browser, from its usual address or any other, is not.
    assert attempt(customer, "127.0.0.2", password="demopass").status_code == 302


def test_an_address_already_refused_counts_nothing_against_the_account(client, demo, app):
    for n in range(3):
        assert attempt(client, "127.0.0.9", email=f"other{n}@example.com").status_code == 401
    for _ in range(20):
        assert attempt(client, "127.0.0.9").status_code == 429
    # The victim, from elsewhere and without a device cookie, still signs in.
    assert attempt(app.test_client(), "127.0.0.10", password="demopass").status_code == 302


def test_successful_sign_ins_count_against_nothing(app, demo):
    for _ in range(8):
        browser = app.test_client()
        assert attempt(browser, "127.0.0.5", password="demopass").status_code == 302
    assert attempt(app.test_client(), "127.0.0.5", password="demopass").status_code == 302


def test_a_device_cookie_over_its_own_limit_is_no_better_than_none(app, demo):
    browser = app.test_client()
    assert attempt(browser, "127.0.0.6", password="demopass").status_code == 302
    browser.post("/logout")
    for _ in range(3):
        assert attempt(browser, "127.0.0.6").status_code == 401
    # The cookie's own bucket is spent (a stolen cookie buys no extra guesses), so this attempt
    # is limited per address and account like any other: neither has counted anything yet.
    assert attempt(browser, "127.0.0.6", password="demopass").status_code == 302


def test_a_forged_or_foreign_device_cookie_is_ignored(app, demo):
    stranger = app.test_client()
    stranger.set_cookie("device", "forged.value.here")
    for n in range(3):
        assert attempt(stranger, f"127.0.1.{n}").status_code == 401
    assert attempt(stranger, "127.0.1.9", password="demopass").status_code == 429


def test_the_lock_out_scenario_over_real_sockets_from_two_loopback_addresses(app, demo, live_server):
    port = urllib.parse.urlsplit(live_server).port

    def post(source: str, password: str, cookie: str = "") -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
        body = urllib.parse.urlencode({"email": "demo@example.com", "password": password})
        connection.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    signed_in = post("127.0.0.2", "demopass")
    assert signed_in.status == 302
    device = re.search(r"device=([^;]+)", signed_in.getheader("Set-Cookie")).group(1)
    for _ in range(12):
        assert post("127.0.0.3", "wrong").status in (401, 429)
    assert post("127.0.0.3", "demopass").status == 429
    assert post("127.0.0.2", "demopass", cookie=f"device={device}").status == 302


# --- header leak -----------------------------------------------------------------------------

def test_sign_in_answers_carry_no_rate_limit_headers(client, demo):
    for password in ("wrong", "wrong", "wrong", "wrong", "demopass"):
        response = attempt(client, "127.0.0.7", password=password)
        assert not [name for name in response.headers.keys() if name.lower().startswith("x-ratelimit")]
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


# --- the throttling store unreachable ----------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_store_unreachable_sign_in_is_a_translated_503_and_the_wallet_keeps_working(app, demo):
    client = app.test_client()
    client.set_cookie("lang", "ja")  # the page's language is the visitor's choice (issue 13)
    response = client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "もう一度お試しください。" in response.get_data(as_text=True)
    # A browser signed in before the store went away keeps its wallet.
    from dashboard.accounts.sessions import open_session

    with app.test_request_context():
        from dashboard.accounts.store import find_account

        token = open_session(find_account("demo@example.com").id)
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    assert client.get("/").status_code == 200
    assert client.get("/api/balance").status_code == 200


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_store_unreachable_every_signed_in_page_keeps_working(app, demo):
    """The Redis drill (tests/drills/test_redis_gone.py) found the Security page answering 503: it
    asked the store whether the second step is locked. Without the store it cannot know, and says
    what the database knows."""
    from dashboard.accounts.sessions import open_session
    from dashboard.accounts.store import find_account

    client = app.test_client()
    with app.test_request_context():
        token = open_session(find_account("demo@example.com").id)
    with client.session_transaction() as session:
        session["_user_id"] = token
    for path in ("/", "/activity", "/gains", "/gains/report", "/security", "/api-keys", "/api/balance",
                 "/api/activity", "/api/history?range=1w", "/api/gains"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_store_unreachable_signed_api_is_a_json_503(client):
    response = client.get("/api/accounts/balance", headers={"ACCESS-KEY": "x" * 16, "ACCESS-NONCE": "1", "ACCESS-SIGNATURE": "0" * 64})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["success"] is False and response.get_json()["error"]


# --- sessions that never end ---------------------------------------------------------------------

def _backdate(app, **delta):
    with app.app_context():
        then = utcnow() - timedelta(**delta)
        db.session.execute(update(LoginSession).values(created_at=then, last_seen_at=then))
        db.session.commit()


def test_a_session_backdated_800_days_no_longer_signs_in(app, client, demo):
    sign_in(client)
    assert client.get("/").status_code == 200
    _backdate(app, days=800)
    assert client.get("/").status_code == 302
    assert client.get("/api/balance").status_code == 401


def test_idle_limit_by_clock(app, client, demo, monkeypatch):
    from dashboard.read_path import signed_in

    sign_in(client)
    start = signed_in.now()
    monkeypatch.setattr(signed_in, "now", lambda: start + timedelta(minutes=29))
    assert client.get("/").status_code == 200  # and "last seen" moves on
    monkeypatch.setattr(signed_in, "now", lambda: start + timedelta(minutes=58))
    assert client.get("/").status_code == 200  # 29 minutes after the last request
    monkeypatch.setattr(signed_in, "now", lambda: start + timedelta(minutes=88, seconds=30))
    assert client.get("/").status_code == 302  # 30½ minutes idle


def test_absolute_limit_by_clock_however_busy(app, client, demo, monkeypatch):
    from dashboard.read_path import signed_in

    sign_in(client)
    start = signed_in.now()
    for minutes in range(20, 12 * 60, 20):
        monkeypatch.setattr(signed_in, "now", lambda minutes=minutes: start + timedelta(minutes=minutes))
        assert client.get("/").status_code == 200, minutes
    monkeypatch.setattr(signed_in, "now", lambda: start + timedelta(hours=12))
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5, "SESSION_MAX_HOURS": 1}])
def test_limits_come_from_configuration(app, client, demo, monkeypatch):
    from dashboard.read_path import signed_in

    sign_in(client)
    start = signed_in.now()
    monkeypatch.setattr(signed_in, "now", lambda: start + timedelta(minutes=6))
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5, "SESSION_MAX_HOURS": 1}])
def test_a_request_a_minute_keeps_a_short_idle_limit_from_ending_the_session(app, client, demo, monkeypatch):
    # "Last seen" is written once per sixth of the idle limit (50 s here), so activity every
    # minute is always seen within the limit.
    from dashboard.read_path import signed_in

    assert signed_in.touch_interval(app.config) == timedelta(seconds=50)
    sign_in(client)
    start = signed_in.now()
    for minute in range(1, 12):
        monkeypatch.setattr(signed_in, "now", lambda minute=minute: start + timedelta(minutes=minute))
        assert client.get("/").status_code == 200, minute
    monkeypatch.setattr(signed_in, "now", lambda: start + timedelta(minutes=11 + 5))
    assert client.get("/").status_code == 302


def test_the_default_touch_interval_is_five_minutes(app):
    from dashboard.read_path import signed_in

    assert signed_in.touch_interval(app.config) == timedelta(minutes=5)


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "CONFIRM_MINUTES", "SECURITY_EVENT_DAYS"])
@pytest.mark.parametrize("value", ["0", "-5", "ten", "３０", " 30"])
def test_bad_session_limit_settings_stop_the_start(monkeypatch, name, value):
    from dashboard.config import ConfigurationError, from_environment

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        from_environment()


def test_the_confirmation_lasts_confirm_minutes(monkeypatch):
    from dashboard.config import from_environment

    assert from_environment()["CONFIRM_SECONDS"] == 600
    monkeypatch.setenv("CONFIRM_MINUTES", "3")
    assert from_environment()["CONFIRM_SECONDS"] == 180


def test_sessions_purge_deletes_only_ended_ones(app, client, runner, demo):
    sign_in(client)
    sign_in(app.test_client())
    with app.app_context():
        tokens = db.session.execute(select(LoginSession.token_hash)).scalars().all()
        db.session.execute(update(LoginSession).where(LoginSession.token_hash == tokens[0])
                           .values(last_seen_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    result = runner.invoke(args=["sessions", "purge"])
    assert result.exit_code == 0 and "1 ended session(s) deleted" in result.output
    with app.app_context():
        assert db.session.execute(select(LoginSession.token_hash)).scalars().all() == [tokens[1]]


# --- the demo account in production ------------------------------------------------------------

def test_seed_demo_refuses_outside_development(app, runner):
    from dashboard.models import Account

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 1 and "--allow-production" in result.output
    with app.app_context():
        assert db.session.execute(select(Account)).first() is None
    assert runner.invoke(args=["seed-demo", "--allow-production"]).exit_code == 0


# --- formula export, raw CLI output -------------------------------------------------------------

@pytest.mark.parametrize("email", ["=hyperlink(\"http://x\")@x.co", "a b@x.co", "a@x", "a\x1b[31m@x.co", "\"q\"@x.co"])
def test_users_create_refuses_what_email_validator_refuses(app, runner, email):
    result = runner.invoke(args=["users", "create", email], input="password123\npassword123\n")
    assert result.exit_code == 1 and "not a valid email address" in result.output
    assert "\x1b" not in result.output


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_export_neutralises_formula_cells_and_imports_them_back(app, runner, start):
    import io

    from dashboard.ledger.balance_files import current_balances, import_balances, write_balances
    from dashboard.models import Account, Balance

    with app.app_context():
        account = Account(email=f"{start}cmd@x.co")
        account.set_password("password123")
        db.session.add(account)
        db.session.flush()
        db.session.add(Balance(account_id=account.id, currency_code="btc", available=1, in_use=0))
        db.session.commit()
        stream = io.StringIO()
        write_balances(current_balances(), stream)
        cell = stream.getvalue().splitlines()[1] if start not in "\r" else stream.getvalue().split("\n")[1]
        assert cell.lstrip('"').startswith("'" + start)
        if start != "\r":  # the import reads a bare CR as a line break, before any cell
            lines = import_balances(stream.getvalue().encode(), name="x.csv")
            assert lines.unchanged == 1 and lines.changed == 0


def test_cli_messages_escape_control_characters(app, runner):
    from dashboard.models import Account

    with app.app_context():
        account = Account(email="evil\x1b]0;owned\x07@x.co")
        account.set_password("password123")
        db.session.add(account)
        db.session.commit()
    result = runner.invoke(args=["keys", "list", "evil\x1b]0;owned\x07@x.co"])
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b]0;owned\\x07" in result.output


# --- the signature over the path as sent ---------------------------------------------------------

def test_a_request_signed_over_a_percent_encoded_path_as_sent_is_accepted(app, demo, live_server):
    from dashboard.accounts.store import find_account
    from dashboard.core.signing import sign
    from dashboard.exchange_api.key_store import create_key

    with app.app_context():
        new = create_key(find_account("demo@example.com").id, source="cli")
        db.session.commit()
        access_key, secret = new.key.access_key, new.secret
    port = urllib.parse.urlsplit(live_server).port
    results = []
    for nonce, path in ((1, "/api/accounts/%62alance"), (2, "/api/accounts/balance?x=%41"), (3, "/api/accounts/balance")):
        url = f"http://127.0.0.1:{port}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers={"ACCESS-KEY": access_key, "ACCESS-NONCE": str(nonce),
                                                 "ACCESS-SIGNATURE": sign(secret, str(nonce), url)})
        response = connection.getresponse()
        results.append((response.status, response.read()))
        connection.close()
    assert [status for status, _body in results] == [200, 200, 200], results
    # Signed over another path than the one sent: refused.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/accounts/%62alance", headers={
        "ACCESS-KEY": access_key, "ACCESS-NONCE": "4",
        "ACCESS-SIGNATURE": sign(secret, "4", f"http://127.0.0.1:{port}/api/accounts/%63alance")})
    assert connection.getresponse().status == 401
    connection.close()
