"""The exchange-compatible balance API: the exchange's format, its signed-header authentication,
every refusal, throttling of failed attempts, and the real ccxt client against a live server."""
from __future__ import annotations

import http.client
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt
import pytest
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select, update
from tests_support import sent_at_once

from dashboard.accounts.store import create_account
from dashboard.core.formatting import plain
from dashboard.core.signing import sign
from dashboard.exchange_api.key_store import create_key, revoke_key
from dashboard.extensions import db
from dashboard.ledger.changes import BalanceChange, apply_changes
from dashboard.models import ApiKey, Balance, Currency

D = Decimal
URL = "http://localhost/api/accounts/balance"
BALANCES = {
    "jpy": (D("1234567"), D("50000")),
    "btc": (D("0.12345678"), D("0.05")),
    "etc": (D("10"), D("2.5")),
    "fct": (D("12.3456"), D("0")),
    "xem": (D("99999999999999999999.999999"), D("0.000001")),  # beyond float's 15-17 digits
    "xrp": (D("0.000001"), D("0")),  # the smallest amount XRP has (6 decimals)
}


class Key:
    """A key's access key and secret, and a nonce counter that signs requests in order."""

    def __init__(self, access_key: str, secret: str):
        self.access_key, self.secret, self.nonce = access_key, secret, 1_700_000_000_000

    def headers(self, url: str = URL, *, nonce: int | None = None, body: bytes = b"", secret: str | None = None) -> dict:
        if nonce is None:
            self.nonce += 1
            nonce = self.nonce
        return {
            "ACCESS-KEY": self.access_key,
            "ACCESS-NONCE": str(nonce),
            "ACCESS-SIGNATURE": sign(secret or self.secret, str(nonce), url, body),
        }


def make_key(app, email="trader@example.com", **options) -> Key:
    with app.app_context():
        account = create_account(email, "password123") if email else None
        new = create_key(account.id, source="cli", **options)
        db.session.commit()
        return Key(new.key.access_key, new.secret)


@pytest.fixture
def key(app) -> Key:
    made = make_key(app)
    with app.app_context():
        account_id = db.session.execute(select(ApiKey.account_id)).scalar_one()
        apply_changes([BalanceChange(account_id, code, *figures) for code, figures in BALANCES.items()], reason="test", source="test")
        db.session.commit()
    return made


def assert_refused(response, status: int, words: str):
    assert response.status_code == status, response.data
    body = response.get_json()
    assert body["success"] is False
    assert words in body["error"], body["error"]


def stored_balances(app, access_key: str) -> dict[str, tuple[Decimal, Decimal]]:
    """What the database holds for the key's account, for every enabled currency."""
    with app.app_context():
        account_id = db.session.execute(select(ApiKey.account_id).where(ApiKey.access_key == access_key)).scalar_one()
        codes = db.session.execute(select(Currency.code).where(Currency.enabled.is_(True))).scalars().all()
        rows = {b.currency_code: (b.available, b.in_use) for b in db.session.execute(select(Balance).where(Balance.account_id == account_id)).scalars()}
    return {code: rows.get(code, (D(0), D(0))) for code in codes}


def test_balance_answers_in_the_exchange_format_exactly(app, client, key):
    response = client.get("/api/accounts/balance", headers=key.headers())
    assert response.status_code == 200
    assert response.mimetype == "application/json" and response.headers["Cache-Control"] == "no-store"
    expected = {"success": True}
    for code, (available, in_use) in stored_balances(app, key.access_key).items():
        expected[code] = plain(available)
        expected[f"{code}_reserved"] = plain(in_use)
    assert response.get_json() == expected
    assert len(expected) == 1 + 2 * 14
    assert expected["xem"] == "99999999999999999999.999999" and expected["xrp"] == "0.000001"
    assert expected["eth"] == "0" and expected["eth_reserved"] == "0"  # no balance row: zero


def test_no_lending_figures_are_claimed(client, key):
    """Lending, borrowing and the savings plan are not modelled, so none of their fields is sent."""
    body = client.get("/api/accounts/balance", headers=key.headers()).get_json()
    assert not [name for name in body if name.endswith(("_lend_in_use", "_lent", "_debt", "_tsumitate"))]


def test_disabled_currencies_are_left_out(app, client, key):
    with app.app_context():
        db.session.execute(update(Currency).where(Currency.code == "xem").values(enabled=False))
        db.session.commit()
    body = client.get("/api/accounts/balance", headers=key.headers()).get_json()
    assert "xem" not in body and "xem_reserved" not in body and body["btc"] == "0.12345678"


def test_only_the_keys_own_account_is_answered(app, client, key):
    other = make_key(app, "other@example.com")
    body = client.get("/api/accounts/balance", headers=other.headers()).get_json()
    assert body["jpy"] == "0" and body["btc"] == "0"


def test_success_records_the_nonce_and_last_use(app, client, key):
    headers = key.headers()
    assert client.get("/api/accounts/balance", headers=headers).status_code == 200
    with app.app_context():
        stored = db.session.execute(select(ApiKey)).scalar_one()
        assert stored.last_nonce == int(headers["ACCESS-NONCE"]) and stored.last_used_at is not None


def test_the_browser_session_is_not_enough(signed_in):
    """Signed in with a cookie but without signed headers: refused."""
    assert_refused(signed_in.get("/api/accounts/balance"), 401, "ACCESS-KEY")


# Each refusal: its status and a few words of its message.

def test_unknown_key(client, key):
    assert_refused(client.get("/api/accounts/balance", headers=Key("NoSuchKey0000000", key.secret).headers()), 401, "Unknown API key")


def test_revoked_key(app, client, key):
    with app.app_context():
        revoke_key(db.session.execute(select(ApiKey)).scalar_one(), source="web")
        db.session.commit()
    assert_refused(client.get("/api/accounts/balance", headers=key.headers()), 401, "revoked")


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "other url", "query added", "body added", "other nonce"],
)
def test_bad_signature(client, key, how):
    headers = key.headers()
    nonce = headers["ACCESS-NONCE"]
    if how == "wrong secret":
        headers = key.headers(secret="not-the-secret")
    elif how == "other url":
        headers["ACCESS-SIGNATURE"] = sign(key.secret, nonce, "http://localhost/api/accounts", b"")
    elif how == "other nonce":
        headers["ACCESS-NONCE"] = str(int(nonce) + 1)
    url = "/api/accounts/balance" + ("?x=1" if how == "query added" else "")
    response = client.get(url, headers=headers, data=b"x=1" if how == "body added" else None)
    assert_refused(response, 401, "signature does not match")


def test_a_query_string_is_signed_as_part_of_the_url(client, key):
    url = URL + "?b=2&a=1"
    assert client.get("/api/accounts/balance?b=2&a=1", headers=key.headers(url)).status_code == 200


def test_replayed_nonce(client, key):
    headers = key.headers()
    assert client.get("/api/accounts/balance", headers=headers).status_code == 200
    assert_refused(client.get("/api/accounts/balance", headers=headers), 401, "greater than the last one")


def test_older_nonce(client, key):
    assert client.get("/api/accounts/balance", headers=key.headers(nonce=1_800_000_000_000)).status_code == 200
    assert_refused(client.get("/api/accounts/balance", headers=key.headers(nonce=1_799_999_999_999)), 401, "greater than the last one")
    assert client.get("/api/accounts/balance", headers=key.headers(nonce=1_800_000_000_001)).status_code == 200


def test_a_refused_request_does_not_use_up_its_nonce(app, client, key):
    """A forged request with a huge nonce must not lock the real client out."""
    forged = key.headers(nonce=9_000_000_000_000_000_000, secret="forger")
    assert_refused(client.get("/api/accounts/balance", headers=forged), 401, "signature")
    assert client.get("/api/accounts/balance", headers=key.headers()).status_code == 200


def test_wrong_client_address(app, client):
    key = make_key(app, allowed=["192.0.2.0/24", "2001:db8::/32"])
    assert_refused(client.get("/api/accounts/balance", headers=key.headers()), 403, "from your address")  # 127.0.0.1
    assert_refused(client.get("/api/accounts/balance", headers=key.headers(), environ_overrides={"REMOTE_ADDR": "192.0.3.1"}), 403, "from your address")
    for address in ("192.0.2.200", "2001:db8::5", "::ffff:192.0.2.9"):
        response = client.get("/api/accounts/balance", headers=key.headers(), environ_overrides={"REMOTE_ADDR": address})
        assert response.status_code == 200, (address, response.data)


def test_missing_permission(app, client):
    key = make_key(app, permissions=())
    assert_refused(client.get("/api/accounts/balance", headers=key.headers()), 403, "permission to read balances")


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("ACCESS-KEY", None, "send the ACCESS-KEY, ACCESS-NONCE and ACCESS-SIGNATURE"),
        ("ACCESS-NONCE", None, "send the ACCESS-KEY"),
        ("ACCESS-SIGNATURE", None, "send the ACCESS-KEY"),
        ("ACCESS-NONCE", "", "send the ACCESS-KEY"),
        ("ACCESS-NONCE", "abc", "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", "1.5", "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", "-5", "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", "0", "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", "9" * 20, "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", "9" * 5000, "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", str(2**63), "ACCESS-NONCE must be"),
        ("ACCESS-NONCE", "１７００００００００００００", "ACCESS-NONCE must be"),
        ("ACCESS-KEY", "kéy", "ACCESS-KEY is not"),
        ("ACCESS-KEY", "k" * 65, "ACCESS-KEY is not"),
        ("ACCESS-KEY", "a;b", "ACCESS-KEY is not"),
        ("ACCESS-SIGNATURE", "xyz", "ACCESS-SIGNATURE must be"),
        ("ACCESS-SIGNATURE", "a" * 63, "ACCESS-SIGNATURE must be"),
        ("ACCESS-SIGNATURE", "g" * 64, "ACCESS-SIGNATURE must be"),
        ("ACCESS-SIGNATURE", "é" * 64, "ACCESS-SIGNATURE must be"),
    ],
)
def test_malformed_headers(client, key, name, value, words):
    headers = key.headers()
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    assert_refused(client.get("/api/accounts/balance", headers=headers), 401, words)


def test_refusals_are_translated(client, key):
    headers = {**key.headers(), "ACCESS-KEY": "NoSuchKey0000000", "Accept-Language": "ja"}
    body = client.get("/api/accounts/balance", headers=headers).get_json()
    assert body == {"success": False, "error": "この API キーは登録されていません。"}


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1, "TRUSTED_HOSTS": ["wallet.example.com"]}])
def test_behind_a_proxy_the_forwarded_url_and_address_count(app, client):
    """The proxy passes the client's Host on and says https and the client's address."""
    key = make_key(app, allowed=["198.51.100.0/24"])
    forwarded = {"Host": "wallet.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    public = "https://wallet.example.com/api/accounts/balance"
    assert client.get("/api/accounts/balance", headers={**forwarded, **key.headers(public)}).status_code == 200
    # Signed for a URL other than the one the client asked for.
    assert_refused(client.get("/api/accounts/balance", headers={**forwarded, **key.headers("http://wallet.example.com/api/accounts/balance")}), 401, "signature")
    elsewhere = {**forwarded, "X-Forwarded-For": "203.0.113.9"}
    assert_refused(client.get("/api/accounts/balance", headers={**elsewhere, **key.headers(public)}), 403, "address")


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client):
    key = make_key(app, allowed=["198.51.100.0/24"])
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    assert_refused(client.get("/api/accounts/balance", headers={**forwarded, **key.headers("https://localhost/api/accounts/balance")}), 401, "signature")
    assert_refused(client.get("/api/accounts/balance", headers={**forwarded, **key.headers(URL)}), 403, "address")


def test_the_secret_is_never_logged(app, client, caplog):
    caplog.set_level("DEBUG")
    key = make_key(app)
    client.get("/api/accounts/balance", headers=key.headers())
    client.get("/api/accounts/balance", headers=key.headers(secret="wrong"))
    assert key.secret not in caplog.text


# Throttling: failed attempts count, per client address and per access key.

THROTTLED = {"RATELIMIT_ENABLED": True, "API_FAILURE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "memory://"}


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_failed_attempts_are_throttled_per_address(app, client, key):
    other = make_key(app, "other@example.com")
    for _ in range(3):
        assert client.get("/api/accounts/balance", headers=key.headers(secret="wrong")).status_code == 401
    # Over the limit: even a good request from this address, with another key, waits.
    response = client.get("/api/accounts/balance", headers=other.headers())
    assert_refused(response, 429, "Too many")
    assert int(response.headers["Retry-After"]) > 0
    # Another address is not affected.
    fresh = client.get("/api/accounts/balance", headers=other.headers(), environ_overrides={"REMOTE_ADDR": "192.0.2.50"})
    assert fresh.status_code == 200


@pytest.mark.parametrize("store", ["memory", "redis"])
@pytest.mark.parametrize("app_config", [THROTTLED])
def test_failures_with_a_key_count_against_the_sending_address_only(app, client, key, store):
    """The probe (issue 33): zero signatures with a customer's access key from one address made
    the owner's correctly signed requests from another get 429. They now count against the
    address that sent them: the owner, elsewhere, is answered; the attacker's address is not,
    even with a correct signature."""
    if store == "redis":
        from tests.security.test_throttling import redis_url

        app.extensions["failure_counters"] = FixedWindowRateLimiter(storage_from_string(redis_url()))
        app.config["RATELIMIT_KEY_PREFIX"] = "t-" + uuid.uuid4().hex
    attacker, owner = {"REMOTE_ADDR": "203.0.113.66"}, {"REMOTE_ADDR": "192.0.2.10"}
    answers = [client.get("/api/accounts/balance", headers={**key.headers(), "ACCESS-SIGNATURE": "0" * 64},
                          environ_overrides=attacker).status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    for _ in range(3):
        assert client.get("/api/accounts/balance", headers=key.headers(), environ_overrides=owner).status_code == 200
    # A correct signature from the throttled address waits like any other request from it.
    assert_refused(client.get("/api/accounts/balance", headers=key.headers(), environ_overrides=attacker), 429, "Too many")


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_each_address_has_its_own_failures_with_one_key(client, key):
    for i in range(3):
        assert client.get("/api/accounts/balance", headers=key.headers(secret="wrong"), environ_overrides={"REMOTE_ADDR": f"192.0.2.{i + 1}"}).status_code == 401
    # The key is refused nowhere for those: a fourth address signs correctly and is answered.
    assert client.get("/api/accounts/balance", headers=key.headers(), environ_overrides={"REMOTE_ADDR": "192.0.2.99"}).status_code == 200


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_each_kind_of_refusal_counts(app, client, key):
    """401 (unknown key, malformed nonce) and 403 (address) all count against the address."""
    limited = make_key(app, "limited@example.com", allowed=["192.0.2.0/24"])
    assert client.get("/api/accounts/balance", headers=Key("NoSuchKey0000000", "x").headers()).status_code == 401
    assert client.get("/api/accounts/balance", headers={**key.headers(), "ACCESS-NONCE": "x"}).status_code == 401
    assert client.get("/api/accounts/balance", headers=limited.headers()).status_code == 403
    assert_refused(client.get("/api/accounts/balance", headers=key.headers()), 429, "Too many")


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_successful_requests_are_not_throttled(client, key):
    for _ in range(8):
        assert client.get("/api/accounts/balance", headers=key.headers()).status_code == 200


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_no_answer_tells_a_guesser_how_many_tries_are_left(client, key):
    answers = [client.get("/api/accounts/balance", headers=key.headers(secret="wrong")) for _ in range(4)]
    answers.append(client.get("/api/accounts/balance", headers=key.headers()))  # a good signature, from the same address
    assert [answer.status_code for answer in answers] == [401, 401, 401, 429, 429]
    for answer in answers:
        assert not [name for name in answer.headers.keys() if name.lower().startswith("x-ratelimit")]


# The real client, over HTTP.

def coincheck(live_server: str, key: Key) -> ccxt.coincheck:
    # ccxt signs nonce + apiUrl + "/" + path: the URL it requests, which is request.url here.
    exchange = ccxt.coincheck({"apiKey": key.access_key, "secret": key.secret, "timeout": 10_000})
    exchange.urls["api"] = {"rest": live_server + "/api"}
    return exchange


def test_ccxt_fetch_balance_reads_exactly_the_accounts_balances(app, live_server, key):
    exchange = coincheck(live_server, key)
    result = exchange.fetch_balance()
    stored = stored_balances(app, key.access_key)

    # The raw answer ccxt keeps under "info" is ours, string for string.
    expected_info = {"success": True}
    for code, (available, in_use) in stored.items():
        expected_info[code] = plain(available)
        expected_info[f"{code}_reserved"] = plain(in_use)
    assert result["info"] == expected_info

    # ccxt presents every currency it knows (its static market list) that we answer for, as floats.
    known = set(exchange.currencies)
    assert {"BTC", "ETC", "FCT", "JPY"} <= known
    presented = {code for code in known if code in result}
    assert presented == {code for code in known if code.lower() in stored}
    assert "MONA" in known and "MONA" not in result  # the exchange listed it later; we do not
    for code in presented:
        available, in_use = stored[code.lower()]
        assert result[code]["free"] == float(available)
        assert result[code]["used"] == float(in_use)
        assert result[code]["total"] == pytest.approx(float(available + in_use), rel=1e-15)
        assert result["free"][code] == result[code]["free"] and result["used"][code] == result[code]["used"]
    assert result["JPY"] == {"free": 1234567.0, "used": 50000.0, "total": 1284567.0}
    assert result["BTC"]["free"] == 0.12345678 and result["BTC"]["used"] == 0.05


def test_ccxt_calls_in_a_row_each_pass_the_nonce_check(live_server, key):
    exchange = coincheck(live_server, key)
    first = exchange.fetch_balance()
    second = exchange.fetch_balance()
    assert first["info"] == second["info"]


def test_ccxt_sees_refusals_as_errors_with_our_message(app, live_server, key):
    # ccxt raises AuthenticationError only for the exchange's literal "invalid authentication"
    # and "disabled API Key"; our clearer messages reach it as ExchangeError, its base class.
    exchange = coincheck(live_server, Key(key.access_key, "not-the-secret"))
    with pytest.raises(ccxt.ExchangeError, match="signature does not match"):
        exchange.fetch_balance()
    with app.app_context():
        revoke_key(db.session.execute(select(ApiKey)).scalar_one(), source="cli")
        db.session.commit()
    with pytest.raises(ccxt.ExchangeError, match="revoked"):
        coincheck(live_server, key).fetch_balance()


def test_concurrent_requests_with_one_nonce_pass_only_once(live_server, key):
    headers = key.headers(f"{live_server}/api/accounts/balance")
    target = urlsplit(live_server)

    def send(_):
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        connection.request("GET", "/api/accounts/balance", headers=headers)
        status = connection.getresponse().status
        connection.close()
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(8)))
    assert sorted(statuses) == [200] + [401] * 7


def test_raw_non_ascii_header_bytes_get_401_not_500(live_server, key):
    target = urlsplit(live_server)
    for name in (b"ACCESS-NONCE", b"ACCESS-KEY", b"ACCESS-SIGNATURE"):
        headers = {k.encode(): v.encode() for k, v in key.headers(f"{live_server}/api/accounts/balance").items()}
        headers[name] = "１２３é".encode()
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        connection.putrequest("GET", "/api/accounts/balance")
        for header, value in headers.items():
            connection.putheader(header, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 401, (name, body)
        assert b'"success":false' in body


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_guesses_sent_at_once_get_no_more_checks_than_the_limit(app, key, monkeypatch):
    from dashboard.exchange_api import auth

    def send(number: int) -> int:
        return app.test_client().get("/api/accounts/balance", headers=key.headers(secret="wrong"),
                                     environ_overrides={"REMOTE_ADDR": "192.0.2.1"}).status_code

    statuses, checked = sent_at_once(monkeypatch, auth, "_authenticate", send, count=10)
    # Three a minute for the address: three signatures are checked, whatever the keys.
    assert checked == 3
    assert sorted(statuses) == [401] * 3 + [429] * 7
