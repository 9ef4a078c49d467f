"""The journal's canonical encoding, frozen: an entry's hash must be the same text on SQLite and
PostgreSQL, today and after any refactoring, or every journal written before would stop verifying."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.formatting import plain
from dashboard.core.journal_hash import canonical_decimal, canonical_text, entry_hash, heads_digest

ENTRY = {
    "previous": "ab" * 32, "account_id": 7, "currency_code": "xem", "sequence": 2,
    "available_before": Decimal("1000000.500000000000000000"), "in_use_before": Decimal("0E-18"),
    "available_after": Decimal(0), "in_use_after": 3,
    "reason": "補償 compensation", "reason_code": "compensation", "reason_params": {"rate": "88.549", "currency": "xem"},
    "source": "cli (root)", "effective_at": datetime(2018, 1, 26, 23, 59, 59, tzinfo=timezone(timedelta(hours=9))),
    "recorded_at": datetime(2026, 12, 7, 19, 0, 0, 123456, tzinfo=UTC), "idempotency_key": None,
}
TEXT = ('["journal-entry/1","' + "ab" * 32 + '",7,"xem",2,"1000000.5","0","0","3","補償 compensation","compensation",'
        '"{\\"currency\\":\\"xem\\",\\"rate\\":\\"88.549\\"}","cli (root)","2018-01-26T14:59:59.000000Z",'
        '"2026-12-07T19:00:00.123456Z",null]')


def test_the_canonical_text_is_exactly_as_documented():
    assert canonical_text(**ENTRY) == TEXT
    assert entry_hash(**ENTRY) == hashlib.sha256(TEXT.encode()).hexdigest()


@pytest.mark.parametrize("written, text", [
    (Decimal("1.500000000000000000"), "1.5"), (Decimal("1.5"), "1.5"), (Decimal("0E-18"), "0"), (Decimal("-0"), "0"),
    (Decimal("1E+3"), "1000"), (Decimal("0.000000000000000001"), "0.000000000000000001"), (12, "12"),
    (Decimal("1234567890123456789012.123456789012345678"), "1234567890123456789012.123456789012345678"),
])
def test_decimals_are_written_the_same_however_the_database_pads_them(written, text):
    assert canonical_decimal(written) == text


@pytest.mark.parametrize("field, value", [
    ("previous", None), ("account_id", 8), ("currency_code", "btc"), ("sequence", 3), ("available_before", Decimal("1000000.4")),
    ("in_use_after", Decimal("3.000000001")), ("reason", "compensation"), ("reason_code", None), ("reason_params", {"rate": "88.55"}),
    ("source", "sql"), ("effective_at", datetime(2018, 1, 26, 15, tzinfo=UTC)), ("recorded_at", datetime(2026, 12, 7, 19, tzinfo=UTC)),
    ("idempotency_key", "k"),
])
def test_every_field_changes_the_hash(field, value):
    assert entry_hash(**{**ENTRY, field: value}) != entry_hash(**ENTRY)


def test_the_same_moment_in_another_zone_is_the_same_entry_and_a_naive_time_is_refused():
    assert entry_hash(**{**ENTRY, "effective_at": datetime(2018, 1, 26, 14, 59, 59, tzinfo=UTC)}) == entry_hash(**ENTRY)
    with pytest.raises(ValueError, match="time zone"):
        entry_hash(**{**ENTRY, "recorded_at": datetime(2026, 12, 7, 19)})


def test_the_heads_digest_is_one_line_per_balance_in_order():
    heads = [(1, "btc", 4, "aa" * 32), (1, "xem", 1, None)]
    assert heads_digest(heads) == hashlib.sha256(f"1 btc 4 {'aa' * 32}\n1 xem 1 None\n".encode()).hexdigest()
    assert heads_digest([]) == hashlib.sha256(b"").hexdigest()


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=Decimal("9" * 22), places=18)
       | st.decimals(allow_nan=False, allow_infinity=False))
def test_the_fast_decimal_text_is_the_exact_plain_text(value):
    assert canonical_decimal(value) == plain(value)
