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
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', client.get("/security").get_data(as_text=True)).group(1).replace(" ", "")
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


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute", "SECOND_STEP_LIMIT": "10 per hour",
                                         "RATELIMIT_STORAGE_URI": "memory://", "TRUSTED_PROXIES": 1}])
def test_the_per_address_limit_stays_and_keeps_its_own_message(app, owner, clock):
    _owner_client, secret = owner
    browser = app.test_client()
    password_step(browser, "198.51.100.80")
    for _ in range(3):
        assert code_step(browser, wrong_code(secret, clock), "198.51.100.80").status_code == 401
    refused = code_step(browser, wrong_code(secret, clock), "198.51.100.80")
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.get_data(as_text=True) and "locked" not in refused.get_data(as_text=True)


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


# --- 3. trusted hosts -----------------------------------------------------------------------

BAD_HOSTS = ["evil.example", "x..y", "a" * 64 + ".example", ".", "", "localhost:99999", "bücher.example", "localhost:0"]


def routes(app):
    from tests.security.test_csrf_headers_sessions import all_routes

    return [(path, sorted(methods - {"HEAD", "OPTIONS"})) for path, methods in all_routes(app)]


def wsgi_host(client, path, method, host):
    # The environ itself: the test client would turn a non-ASCII header into bytes its own way.
    return client.open(path, method=method, environ_overrides={"HTTP_HOST": host})


@pytest.mark.parametrize("signed", [False, True])
def test_no_host_outside_trusted_hosts_reaches_any_route(app, client, demo, signed):
    """`Host: evil.example` and `Host: x..y` (and the rest) on every blueprint's routes: 400 with
    the usual headers, JSON for the JSON endpoints, never a 500."""
    from dashboard.errors import JSON_PATHS
    from tests.security.test_csrf_headers_sessions import check_headers

    if signed:
        sign_in(client)
    all_routes = routes(app)
    assert {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()} >= {"auth", "security", "wallet", "api", "static"}
    for path, methods in all_routes:
        for method in methods:
            for host in BAD_HOSTS:
                response = wsgi_host(client, path, method, host)
                assert response.status_code == 400, (method, path, host, response.status_code)
                check_headers(response)
                if path.startswith("/api/") or path in app.extensions[JSON_PATHS]:
                    assert response.is_json and response.get_json()["success"] is False, (path, host)
                    assert "host name" in response.get_json()["error"]
                    assert len(host) < 2 or host not in response.get_json()["error"]  # not echoed back
    # The same routes with the trusted host are answered as before.
    assert client.get("/login", headers={"Host": "localhost"}).status_code in (200, 302)
    assert client.get("/login", headers={"Host": "127.0.0.1:5000"}).status_code in (200, 302)


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": [".example.com"]}])
def test_a_leading_dot_trusts_subdomains_and_a_malformed_one_is_still_a_400(client):
    assert client.get("/login", headers={"Host": "wallet.example.com"}).status_code == 200
    assert client.get("/login", headers={"Host": "example.com"}).status_code == 200
    assert client.get("/login", headers={"Host": "localhost"}).status_code == 400
    # Trusted by its suffix, but no name: Werkzeug's IDNA encoding refuses it (BadHost).
    for host in ("x..example.com", "a" * 64 + ".example.com"):
        response = client.get("/login", headers={"Host": host})
        assert response.status_code == 400
        assert "Content-Security-Policy" in response.headers


def test_trusted_hosts_from_the_environment(monkeypatch, database_urls):
    from conftest import make_app

    from dashboard.config import DEFAULT_TRUSTED_HOSTS, ConfigurationError, from_environment

    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    assert from_environment()["TRUSTED_HOSTS"] == DEFAULT_TRUSTED_HOSTS.split(",") == ["localhost", "127.0.0.1", "::1"]
    monkeypatch.setenv("TRUSTED_HOSTS", " Wallet.Example.com, .example.net ")
    assert from_environment()["TRUSTED_HOSTS"] == ["wallet.example.com", ".example.net"]
    for bad in ("https://wallet.example.com", "wallet.example.com:443", "wallet example", ",", "/"):
        monkeypatch.setenv("TRUSTED_HOSTS", bad)
        with pytest.raises(ConfigurationError, match="TRUSTED_HOSTS"):
            from_environment()
    monkeypatch.setenv("TRUSTED_HOSTS", "wallet.example.com")
    app = make_app(database_urls("sqlite"), TRUSTED_HOSTS=from_environment()["TRUSTED_HOSTS"])
    assert app.test_client().get("/login", headers={"Host": "wallet.example.com"}).status_code == 200
    assert app.test_client().get("/login").status_code == 400  # localhost is no longer trusted


def test_passkey_options_never_take_a_host_of_the_visitors_choosing(app, client, demo):
    """The probe: `Host: evil.example` answered rpId "evil.example"; an empty Host, 500."""
    for host in ("evil.example", "", "x..y"):
        response = wsgi_host(client, "/login/passkey/options", "POST", host)
        assert response.status_code == 400 and response.is_json, host
        assert "rpId" not in response.get_data(as_text=True)
    trusted = client.post("/login/passkey/options", headers={"Host": "localhost:5000"})
    assert trusted.status_code == 200 and trusted.get_json()["rpId"] == "localhost"


@pytest.mark.parametrize("app_config", [{"WEBAUTHN_RP_ID": "wallet.example.com", "WEBAUTHN_ORIGIN": "https://wallet.example.com"}])
def test_passkey_rp_id_from_the_setting_whatever_the_host(client, demo):
    assert client.post("/login/passkey/options").get_json()["rpId"] == "wallet.example.com"


def test_the_rp_id_is_checked_again_in_the_module(app, demo):
    """Even with Flask's check out of the way (TRUSTED_HOSTS emptied after start), a Host that is
    not trusted never becomes the RP ID."""
    from werkzeug.exceptions import BadRequest

    from dashboard.accounts import passkeys

    app.config["TRUSTED_HOSTS"] = None
    with app.test_request_context("/login/passkey/options", method="POST", headers={"Host": "evil.example"}):
        with pytest.raises(BadRequest):
            passkeys.rp_id()


@pytest.fixture
def gunicorn(database_urls, app, tmp_path):
    """The production server, as the probe ran it, on the test's own database."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from tests.security.test_throttling import free_port

    port = free_port()
    env = dict(os.environ, DASHBOARD_ENV="development", DATABASE_URL=database_urls("sqlite"),
               SECRET_KEY="gunicorn-test-secret-" + "z" * 32)
    env.pop("TRUSTED_HOSTS", None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "dashboard:create_app()"],
                               env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "gunicorn.log").open("wb"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def raw_request(port: int, path: str, host: bytes | None) -> tuple[int, dict[str, str], bytes]:
    import socket

    request = b"GET " + path.encode() + b" HTTP/1.1\r\n" + (b"" if host is None else b"Host: " + host + b"\r\n") + b"Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_under_gunicorn_no_host_header_gives_a_500(gunicorn):
    """The probe saw gunicorn's bare 500 for `Host: x..y`: Werkzeug's IDNA encoding refused the
    name (BadHost, a 400), and the error page's url_for then failed without a URL adapter."""
    hosts = [b"x..y", b"a" * 64 + b".example", b".", b"", b"localhost:99999", "bücher.example".encode(), b"evil.example"]
    for path in ("/login", "/api/balance", "/static/css/dashboard.css", "/api/accounts/balance", "/no-such-page"):
        for host in hosts:
            status, headers, body = raw_request(gunicorn, path, host)
            assert status == 400, (path, host, status)
            assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), (path, host)
            assert headers.get("x-content-type-options") == "nosniff"
            if path.startswith("/api/"):
                assert headers["content-type"] == "application/json"
        assert raw_request(gunicorn, path, b"localhost")[0] != 400
        assert raw_request(gunicorn, path, None)[0] != 400  # HTTP/1.1 without Host: gunicorn's own address


# --- 4. answer types ------------------------------------------------------------------------

JSON_ENDPOINTS = ["/login/passkey/options", "/login/passkey", "/security/passkeys/options", "/security/passkeys",
                  "/api/balance", "/api/preferences", "/api/history", "/api/accounts/balance"]


def test_the_json_endpoints_are_known(app):
    from dashboard.errors import JSON_PATHS

    assert {"/login/passkey/options", "/login/passkey", "/security/passkeys/options", "/security/passkeys"} <= app.extensions[JSON_PATHS]
    assert "/security/passkeys/name" not in app.extensions[JSON_PATHS]  # a form that posts and redirects


def assert_json_error(response, status):
    assert response.status_code == status, (response.request.path, response.status_code)
    assert response.is_json, (response.request.path, response.content_type)
    body = response.get_json()
    assert set(body) == {"success", "error"} and body["success"] is False and body["error"]


def test_every_json_endpoint_answers_405_404_and_413_in_json(app, client, demo):
    for path in JSON_ENDPOINTS:
        assert_json_error(client.put(path), 405)
    assert_json_error(client.get("/api/no-such-thing"), 404)
    assert_json_error(client.get("/login/passkey"), 405)
    big = b'{"id": "' + b"x" * (70 * 1024) + b'"}'
    assert_json_error(client.post("/login/passkey", data=big, content_type="application/json"), 413)
    sign_in(client)
    assert_json_error(client.post("/api/preferences", data=big, content_type="application/json"), 413)
    assert_json_error(client.post("/security/passkeys", data=big, content_type="application/json"), 413)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_csrf_failures_of_json_endpoints_are_json_and_signed_out_comes_first(app, client, demo):
    # CSRF: the passkey endpoints without the token, signed out.
    assert_json_error(client.post("/login/passkey/options"), 400)
    assert_json_error(client.post("/login/passkey", json={}), 400)
    # Signed out, the browser API answers 401, not the CSRF 400 (the probe: POST
    # /api/preferences without a session answered 400).
    assert_json_error(client.post("/api/preferences", json={"discreet": True}), 401)
    from conftest import sign_in_with_csrf

    token = sign_in_with_csrf(client)
    assert_json_error(client.post("/api/preferences", json={"discreet": True}), 400)  # no token now: CSRF
    assert client.post("/api/preferences", json={"discreet": True}, headers={"X-CSRFToken": token}).status_code == 200
    assert_json_error(client.post("/security/passkeys/options"), 400)


def test_an_old_confirmation_is_a_json_403_whatever_the_request_says_it_accepts(app, client, demo):
    from conftest import sign_in

    sign_in(client)
    with client.session_transaction() as session:
        for name in list(session):
            if "confirm" in name:
                session[name] = 0  # confirmed long ago
    for path in ("/security/passkeys/options", "/security/passkeys"):
        answer = client.post(path)  # no JSON body, no Accept header
        assert answer.status_code == 403 and answer.is_json, path
        assert answer.get_json()["success"] is False and answer.get_json()["redirect"].startswith("/security/confirm")


def test_a_signed_out_passkey_registration_gets_a_json_401(client):
    assert_json_error(client.post("/security/passkeys/options"), 401)
    assert_json_error(client.post("/security/passkeys", json={}), 401)
    assert client.get("/security").status_code == 302  # a page still goes to the sign-in page


def test_a_json_endpoint_answers_its_503_in_json(app, client, demo, monkeypatch):
    """The probe: a JSON endpoint answered its 503 (throttling store down) in HTML."""
    from limits.errors import StorageError

    from dashboard.extensions import FailureCounters

    def down(*_args, **_kwargs):
        raise StorageError(ConnectionError("store down"))

    app.config["RATELIMIT_ENABLED"] = True
    monkeypatch.setattr(FailureCounters, "begin", down)
    response = client.post("/login/passkey", data=b"{}", content_type="application/json")
    assert_json_error(response, 503)
    assert response.headers["Retry-After"] == "30"
    # Pages stay pages.
    page = client.post("/login", data={"email": "demo@example.com", "password": "x"})
    assert page.status_code == 503 and page.mimetype == "text/html"


def test_a_json_endpoint_answers_429_in_json(app, owner, clock):
    _client, secret = owner
    browser = app.test_client()
    password_step(browser, "198.51.100.70")
    for _ in range(10):
        code_step(browser, wrong_code(secret, clock), "198.51.100.70")
    assert_json_error(browser.post("/login/passkey?step=second", json={"id": "x"}, headers={"X-Forwarded-For": "198.51.100.70"}), 429)


# --- 4. names a customer types ----------------------------------------------------------------

@pytest.mark.parametrize("character", ["\u202e", "\u202a", "\u2066", "\u2069", "\u2028", "\u2029"])
def test_a_passkey_name_with_bidi_controls_or_line_separators_is_refused(app, client, demo, character):
    from dashboard.models import Passkey

    sign_in(client)
    with app.app_context():
        from dashboard.models import Account

        account_id = db.session.execute(select(Account.id)).scalar_one()
        db.session.add(Passkey(account_id=account_id, credential_id="cred-1", public_key=b"k", sign_count=0, name="Laptop"))
        db.session.commit()
        passkey_id = db.session.execute(select(Passkey.id)).scalar_one()
    renamed = client.post("/security/passkeys/name", data={"passkey": str(passkey_id), "name": f"work{character}key"},
                          follow_redirects=True)
    page = renamed.get_data(as_text=True)
    assert f"U+{ord(character):04X}" in page and "Type the name without them" in page
    with app.app_context():
        assert db.session.get(Passkey, passkey_id).name == "Laptop"
    # Adding one with such a name: refused before the ceremony is looked at, in JSON.
    client.set_cookie("lang", "ja")
    added = client.post("/security/passkeys", json={"name": f"鍵{character}", "id": "x"})
    assert_json_error(added, 400)
    assert "それらを除いて入力してください" in added.get_json()["error"]


def test_the_check_itself():
    from dashboard.core.typed_names import code_points, hidden_controls_in

    assert hidden_controls_in("My passkey") == [] and hidden_controls_in("鍵 (仕事用)") == []
    assert hidden_controls_in("a\u202eb\u2028c\u202e") == ["\u202e", "\u2028"]
    assert code_points(["\u202e", "\u2028"]) == "U+202E, U+2028"
    for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029]:
        assert hidden_controls_in(f"x{chr(code)}") == [chr(code)]
    for code in (0x2027, 0x202F, 0x2065, 0x206A, 0x200B, 0x0020):
        assert hidden_controls_in(chr(code)) == []
