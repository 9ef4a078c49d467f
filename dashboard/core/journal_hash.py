"""The journal's hash chain: the canonical text of an entry, its SHA-256 over that text and the
previous entry's hash, and the digest of every balance's chain head that an anchor records.

Pure: plain values in, hex digests out, so SQLite and PostgreSQL (and the migration that hashes
journals written before the chain) give the same hash for the same entry. The encoding is
documented in docs/security.md ("The journal's hash chain"); changing it is a new VERSION.
"""
from __future__ import annotations

import decimal
import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from dashboard.core.formatting import plain

VERSION = "journal-entry/1"


@functools.lru_cache(maxsize=4096)
def canonical_time(moment: datetime) -> str:
    """UTC with microseconds, as both databases keep it: 2018-01-26T14:59:59.000000Z. (Kept:
    a batch's entries share their times.)"""
    if moment.tzinfo is None:
        raise ValueError("a journal time must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Wide enough for any amount the database holds (40 digits) to normalise exactly; Inexact traps,
# sending a longer one to the exact, slower way.
_WIDE = decimal.Context(prec=100, traps=[decimal.Inexact, decimal.Rounded])


def canonical_decimal(value: Decimal | int) -> str:
    """Plain notation, no exponent, no trailing fraction zeros: PostgreSQL's NUMERIC(40,18) pads
    to 18 places and SQLite keeps the text as written, and both read back as the same text."""
    number = value if type(value) is Decimal else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if number.is_zero():
        return "0"
    try:
        return format(number.normalize(_WIDE), "f")
    except decimal.DecimalException:
        return plain(number)


@functools.lru_cache(maxsize=1024)
def _params_text(items: tuple) -> str:
    return json.dumps(dict(items), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _params(reason_params: dict | None) -> str | None:
    """The reason's parameters as their own JSON text, keys sorted; None when there are none."""
    if not reason_params:
        return None
    try:
        return _params_text(tuple(sorted(reason_params.items())))
    except TypeError:  # a value that is not hashable: the same text, without the cache
        return json.dumps(reason_params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json(value) -> str:
    """One field as json.dumps(value, ensure_ascii=False) writes it (strings, whole numbers, None)."""
    if value is None:
        return "null"
    if type(value) is str:
        return _string(value)
    if type(value) is int:
        return str(value)
    return json.dumps(value, ensure_ascii=False)


_string = json.encoder.encode_basestring  # json.dumps's own string writer with ensure_ascii=False


def canonical_text(*, previous: str | None, account_id: int, currency_code: str, sequence: int,
                   available_before, in_use_before, available_after, in_use_after,
                   reason: str, reason_code: str | None, reason_params: dict | None, source: str,
                   effective_at: datetime, recorded_at: datetime, idempotency_key: str | None) -> str:
    """One JSON array, fields in a fixed order, no spaces, non-ASCII as itself (UTF-8): exactly
    json.dumps(fields, separators=(",", ":"), ensure_ascii=False), written field by field (a
    compensation run hashes hundreds of thousands of entries)."""
    fields = (
        _string(VERSION), _json(previous), _json(account_id), _string(currency_code), _json(sequence),
        _string(canonical_decimal(available_before)), _string(canonical_decimal(in_use_before)),
        _string(canonical_decimal(available_after)), _string(canonical_decimal(in_use_after)),
        _json(reason), _json(reason_code), _json(_params(reason_params)), _json(source),
        _string(canonical_time(effective_at)), _string(canonical_time(recorded_at)), _json(idempotency_key),
    )
    return "[" + ",".join(fields) + "]"


def entry_hash(**fields) -> str:
    """SHA-256 (hex) of the entry's canonical text; `previous` is the hash of the entry before
    it on the same balance, None for a balance's first entry."""
    return hashlib.sha256(canonical_text(**fields).encode()).hexdigest()


def heads_digest(heads: Iterable[tuple[int, str, int, str | None]]) -> str:
    """SHA-256 (hex) over each balance's chain head — (account id, currency, sequence, hash) in
    the order of account id then currency — one line each: what an anchor records."""
    digest = HeadsDigest()
    for head in heads:
        digest.add(*head)
    return digest.hexdigest()


class HeadsDigest:
    """heads_digest fed one head at a time, for a walk that streams the journal."""

    def __init__(self):
        self._digest = hashlib.sha256()

    def add(self, account_id: int, currency_code: str, sequence: int, hash_: str | None) -> None:
        self._digest.update(f"{account_id} {currency_code} {sequence} {hash_}\n".encode())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@dataclass(frozen=True)
class Anchor:
    """A chain head an operator recorded (`flask journal anchor`): the latest entry id then, the
    digest of every balance's chain head among the entries up to it, and when it was taken."""
    entry_id: int
    hash: str
    at: str
    line: int = 1


ANCHOR_FIELDS = ("entry_id", "hash", "at")


def anchor_line(entry_id: int, hash_: str, at: datetime) -> str:
    """An anchor as one line of JSON, as `flask journal anchor` prints it."""
    return json.dumps({"entry_id": entry_id, "hash": hash_, "at": canonical_time(at)}, separators=(", ", ": "))


def parse_anchors(text: str) -> list[Anchor]:
    """The anchors of a file of one JSON object per line (blank lines skipped). Raises
    ValueError naming the first line that is not an anchor, and why."""
    anchors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise ValueError(f"line {number} is not JSON") from None
        if not isinstance(value, dict) or set(value) != set(ANCHOR_FIELDS):
            raise ValueError(f"line {number} is not an anchor: it must be an object with exactly the fields "
                             f"{', '.join(ANCHOR_FIELDS)}")
        entry_id, hash_, at = value["entry_id"], value["hash"], value["at"]
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or entry_id < 0:
            raise ValueError(f"line {number}: entry_id must be a whole number of at least 0")
        if not isinstance(hash_, str) or not re.fullmatch(r"[0-9a-f]{64}", hash_):
            raise ValueError(f"line {number}: hash must be 64 lower-case hexadecimal digits (a SHA-256)")
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ValueError(f"line {number}: at must be an ISO 8601 time with its UTC offset")
        anchors.append(Anchor(entry_id, hash_, at, number))
    if not anchors:
        raise ValueError("the file holds no anchor")
    return anchors
