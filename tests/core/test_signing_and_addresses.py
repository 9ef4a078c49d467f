"""Unit tests for the API key core: the signature, header parsing, allowed addresses, the
exchange's balance shape and the secrets' encryption. No app, no database."""
from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from dashboard.config import ConfigurationError, check_production_safety
from dashboard.core.allowed_addresses import (
    MAX_ENTRIES,
    AllowedAddressError,
    address_allowed,
    display,
    parse_allowed,
    split_entries,
)
from dashboard.core.secret_storage import InvalidToken, KeyConfigurationError, SecretBox, derived_key, parse_keys
from dashboard.core.signing import MAX_NONCE, parse_access_key, parse_nonce, parse_signature, sign, signature_matches
from dashboard.exchange_api.format import balance_fields


def test_signature_is_hmac_sha256_of_nonce_url_and_body():
    # RFC 4231-style check against the well-known HMAC-SHA256("key", "The quick brown fox ...").
    assert sign("key", "The quick ", "brown fox jumps over the lazy dog") == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )
    assert sign("s3cret", "1700000000000", "http://127.0.0.1/api/accounts/balance", b"a=1") == hmac.new(
        b"s3cret", b"1700000000000http://127.0.0.1/api/accounts/balancea=1", hashlib.sha256
    ).hexdigest()


def test_signature_matches_ignores_hex_case_and_refuses_any_change():
    good = sign("secret", "5", "http://h/api", b"")
    assert signature_matches("secret", "5", "http://h/api", b"", good.upper())
    assert not signature_matches("other", "5", "http://h/api", b"", good)
    assert not signature_matches("secret", "6", "http://h/api", b"", good)
    assert not signature_matches("secret", "5", "https://h/api", b"", good)
    assert not signature_matches("secret", "5", "http://h/api", b"x", good)


@given(secret=st.text(min_size=1), nonce=st.integers(1, MAX_NONCE), path=st.text(alphabet="abc/?=&", max_size=20), body=st.binary(max_size=50))
def test_a_signature_verifies_exactly_its_own_request(secret, nonce, path, body):
    url = "http://127.0.0.1/" + path
    signature = sign(secret, str(nonce), url, body)
    assert signature_matches(secret, str(nonce), url, body, signature)
    assert not signature_matches(secret, str(nonce + 1), url, body, signature)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", 1),
        ("1700000000000", 1700000000000),          # ccxt: milliseconds
        ("1700000000000000000", 1700000000000000000),  # date +%s%N: nanoseconds
        (str(MAX_NONCE), MAX_NONCE),
        (str(MAX_NONCE + 1), None),
        ("9" * 20, None),
        ("9" * 10_000, None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("1e3", None),
        (" 1", None),
        ("abc", None),
        ("１２３", None),      # full-width digits: int() would take them
        ("١٢٣", None),         # Arabic-Indic digits
        ("", None),
        (None, None),
    ],
)
def test_parse_nonce(raw, expected):
    assert parse_nonce(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("AbC123xyz0AbC123", "AbC123xyz0AbC123"), ("a-b_c", "a-b_c"), ("x" * 64, "x" * 64), ("x" * 65, None), ("ké", None), ("a b", None), ("", None), (None, None)],
)
def test_parse_access_key(raw, expected):
    assert parse_access_key(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("ab" * 32, "ab" * 32), ("AB" * 32, "ab" * 32), ("ab" * 31, None), ("ab" * 33, None), ("zz" * 32, None), ("é" * 64, None), (None, None)],
)
def test_parse_signature(raw, expected):
    assert parse_signature(raw) == expected


@given(st.text(max_size=40))
def test_header_parsers_never_raise(text):
    parse_nonce(text), parse_access_key(text), parse_signature(text)


def test_split_entries_takes_lines_commas_and_spaces():
    assert split_entries("192.0.2.1\n 10.0.0.0/8,2001:db8::/32\r\n\n") == ["192.0.2.1", "10.0.0.0/8", "2001:db8::/32"]
    assert split_entries(["192.0.2.1", "10.0.0.1, 10.0.0.2"]) == ["192.0.2.1", "10.0.0.1", "10.0.0.2"]


def test_parse_allowed_keeps_order_and_drops_duplicates():
    networks = parse_allowed(["192.0.2.1", "10.0.0.0/8", "192.0.2.1/32", "2001:DB8::/32"])
    assert [display(n) for n in networks] == ["192.0.2.1", "10.0.0.0/8", "2001:db8::/32"]


def test_parse_allowed_names_every_bad_entry():
    with pytest.raises(AllowedAddressError) as caught:
        parse_allowed(["192.0.2.1", "192.0.2.1/24", "example.com", "256.1.1.1", "１.2.3.4", "1" * 100])
    assert caught.value.bad == ["192.0.2.1/24", "example.com", "256.1.1.1", "１.2.3.4", "1" * 100]


def test_parse_allowed_refuses_too_many_entries():
    with pytest.raises(AllowedAddressError) as caught:
        parse_allowed([f"10.0.0.{i}" for i in range(MAX_ENTRIES + 1)])
    assert caught.value.too_many
    assert len(parse_allowed([f"10.0.0.{i}" for i in range(MAX_ENTRIES)])) == MAX_ENTRIES


@pytest.mark.parametrize(
    "client, allowed, expected",
    [
        ("192.0.2.7", [], True),
        ("192.0.2.7", ["192.0.2.7"], True),
        ("192.0.2.7", ["192.0.2.0/24"], True),
        ("192.0.3.7", ["192.0.2.0/24"], False),
        ("::ffff:192.0.2.7", ["192.0.2.0/24"], True),   # IPv4 client on a dual-stack socket
        ("2001:db8::1", ["2001:db8::/32"], True),
        ("2001:db9::1", ["2001:db8::/32"], False),
        ("2001:db8::1", ["192.0.2.0/24"], False),
        ("fe80::1%eth0", ["fe80::/10"], True),
        ("", ["192.0.2.0/24"], False),
        (None, ["192.0.2.0/24"], False),
        ("not-an-address", ["192.0.2.0/24"], False),
    ],
)
def test_address_allowed(client, allowed, expected):
    assert address_allowed(client, allowed) is expected


def test_balance_fields_use_the_exchange_names_and_exact_strings():
    fields = balance_fields([("jpy", Decimal("1234567"), Decimal("50000.00")), ("btc", Decimal("0.000000000000000001"), Decimal("1E+3")), ("xem", 0, 0)])
    assert fields == {
        "success": True,
        "jpy": "1234567", "jpy_reserved": "50000",
        "btc": "0.000000000000000001", "btc_reserved": "1000",
        "xem": "0", "xem_reserved": "0",
    }


def test_secret_box_round_trip_and_never_plain():
    box = SecretBox(parse_keys(Fernet.generate_key().decode()))
    token = box.encrypt("my-secret")
    assert "my-secret" not in token
    assert box.decrypt(token) == "my-secret"


def test_secret_box_rotation_old_key_still_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox(parse_keys(old)).encrypt("s")
    assert SecretBox(parse_keys(f"{new}, {old}")).decrypt(token) == "s"
    with pytest.raises(InvalidToken):
        SecretBox(parse_keys(new)).decrypt(token)


@pytest.mark.parametrize("value", ["", " , ", "not-a-key", "bWFrZS1hLXJlYWwtb25lLXdpdGgtRmVybmV0LWtleXM=,short"])
def test_parse_keys_refuses_unusable_keys_without_echoing_them(value):
    with pytest.raises(KeyConfigurationError) as caught:
        parse_keys(value)
    assert "short" not in str(caught.value) and "not-a-key" not in str(caught.value)


def test_development_key_is_derived_deterministically_from_secret_key():
    assert derived_key("a") == derived_key("a") != derived_key("b")
    Fernet(derived_key("a"))  # a valid Fernet key
    box = SecretBox.from_config({"TESTING": True, "SECRET_KEY": "a", "API_KEY_ENCRYPTION_KEY": ""})
    assert SecretBox.from_config({"ENV_NAME": "development", "SECRET_KEY": "a"}).decrypt(box.encrypt("x")) == "x"
    with pytest.raises(KeyConfigurationError):
        SecretBox.from_config({"ENV_NAME": "production", "SECRET_KEY": "a"})


PRODUCTION = {"ENV_NAME": "production", "SECRET_KEY": "k" * 40, "DEBUG": False}


def test_production_refuses_to_start_without_an_encryption_key():
    with pytest.raises(ConfigurationError, match="API_KEY_ENCRYPTION_KEY is not set"):
        check_production_safety({**PRODUCTION, "API_KEY_ENCRYPTION_KEY": ""})


def test_production_refuses_an_invalid_encryption_key():
    with pytest.raises(ConfigurationError, match="not a Fernet key") as caught:
        check_production_safety({**PRODUCTION, "API_KEY_ENCRYPTION_KEY": "hunter2"})
    assert "hunter2" not in str(caught.value)


def test_production_starts_with_a_valid_encryption_key():
    check_production_safety({**PRODUCTION, "API_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode()})


def test_development_refuses_a_set_but_invalid_key_and_derives_an_unset_one():
    check_production_safety({"ENV_NAME": "development", "API_KEY_ENCRYPTION_KEY": ""})
    with pytest.raises(ConfigurationError):
        check_production_safety({"ENV_NAME": "development", "API_KEY_ENCRYPTION_KEY": "nope"})
