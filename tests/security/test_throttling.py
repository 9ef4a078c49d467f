"""Sign-in throttling per client address and per account, on memory and on a shared Redis."""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from conftest import make_app, missing
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from tests_support import sent_at_once

LIMIT = "3 per minute"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT": LIMIT, "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": "t-" + uuid.uuid4().hex, "TRUSTED_PROXIES": 1}


def attempt(client, email="demo@example.com", password="wrong-password", address="203.0.113.1", lang="en"):
    client.set_cookie("lang", lang)  # the visitor's chosen language (the browser's alone does not pick it)
    return client.post("/login", data={"email": email, "password": password}, headers={"X-Forwarded-For": address})


def test_per_address_limit_gives_a_translated_429_with_retry_after(client, demo):
    for n in range(3):
        assert attempt(client, email=f"user{n}@example.com").status_code == 401
    throttled = attempt(client, email="other@example.com", lang="ja")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "ログインの試行回数が上限を超えました" in throttled.get_data(as_text=True)
    # even the right password is refused while throttled: guessing gains nothing
    assert attempt(client, password="demopass").status_code == 429
    # another address is not affected
    assert attempt(client, email="x@example.com", address="203.0.113.2").status_code == 401


def test_per_account_limit_holds_across_addresses(client, demo):
    for n in range(3):
        assert attempt(client, address=f"198.51.100.{n}").status_code == 401
    assert attempt(client, address="198.51.100.99").status_code == 429
    assert attempt(client, email="DEMO@example.com", address="198.51.100.98").status_code == 429
    assert attempt(client, email="someone-else@example.com", address="198.51.100.97").status_code == 401


def test_pages_are_not_throttled(client, demo):
    for _ in range(10):
        assert client.get("/login").status_code == 200


# --- two processes sharing one Redis -----------------------------------------------------

def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        missing("TEST_REDIS_URL is not set: the shared-throttle test needs Redis")
    parsed = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=2).close()
    except OSError as error:
        missing(f"Redis at TEST_REDIS_URL is unreachable: {error}")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(database_urls):
    """Two app processes on one SQLite file; the shared state under test is Redis."""
    url = redis_url()
    env = dict(os.environ, DASHBOARD_ENV="development", DATABASE_URL=database_urls("sqlite"),
               RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX="t-" + uuid.uuid4().hex, LOGIN_LIMIT=LIMIT,
               SECRET_KEY="shared-test-secret-" + "y" * 32)
    app = make_app(database_urls("sqlite"))
    from tests_support import reset_and_seed

    reset_and_seed(app)
    processes, ports = [], []
    for _ in range(2):
        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "dashboard", "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    try:
        for port in ports:
            deadline = time.monotonic() + 60  # a loaded 2-core CI machine took over 20 s to start a flask server
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("test server did not start") from None
                    time.sleep(0.1)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


class Browser:
    """Cookies and the CSRF token of one visitor of one server (CSRF is on here)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def post_login(self, email: str, password: str) -> int:
        html = self.opener.open(f"{self.base}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        try:
            return self.opener.open(f"{self.base}/login", data=body, timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code


def test_two_processes_share_the_limit_through_redis(two_servers):
    first, second = (Browser(base) for base in two_servers)
    statuses = [first.post_login("demo@example.com", "wrong-1"),
                second.post_login("demo@example.com", "wrong-2"),
                first.post_login("demo@example.com", "wrong-3")]
    assert statuses == [401, 401, 401]
    # the fourth attempt reaches the other process, which still knows about the first three
    assert second.post_login("demo@example.com", "wrong-4") == 429
    assert first.post_login("demo@example.com", "demopass") == 429


def test_only_the_signed_api_has_throttling_hooks(app):
    """Every other request passes without a look at the throttling store (sign-in counts inside
    its own view): the failed-attempt hooks hang on the signed API's blueprint alone."""
    from dashboard.exchange_api import throttle

    hooks = {scope: set(functions) for scope, functions in app.before_request_funcs.items()}
    after = {scope: set(functions) for scope, functions in app.after_request_funcs.items()}
    assert [scope for scope, functions in hooks.items() if throttle.refuse_when_over_the_limit in functions] == ["exchange_api"]
    assert [scope for scope, functions in after.items() if throttle.count_failures in functions] == ["exchange_api"]


# --- attempts sent all at once -------------------------------------------------------------

def _sign_in_at_once(app, monkeypatch, count: int) -> tuple[list[int], int]:
    from dashboard.accounts import views

    def send(number: int) -> int:
        return attempt(app.test_client(), address=f"198.51.100.{number}").status_code

    return sent_at_once(monkeypatch, views, "authenticate", send, count=count)


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_attempts_sent_at_once_get_no_more_guesses_than_the_limit(app, demo, monkeypatch, store):
    if store == "redis":
        app.extensions["failure_counters"] = FixedWindowRateLimiter(storage_from_string(redis_url()))
    statuses, checked = _sign_in_at_once(app, monkeypatch, count=10)
    # The limit is 3 a minute for the account: of ten guesses at once, three are checked.
    assert checked == 3
    assert sorted(statuses) == [401] * 3 + [429] * 7
    # And the window is spent: the right password waits like any other attempt.
    assert attempt(app.test_client(), password="demopass", address="198.51.100.200").status_code == 429
