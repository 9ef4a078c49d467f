"""Many balances at once, for a compensation run's batch: lock them, tell which idempotency keys
the journal already holds, then set and journal them all, by the rules of changes.py (one lock
order, check_figures, one journal entry per change numbered after the balance's last).

A few statements per batch whatever its size. On PostgreSQL each statement takes whole columns as
arrays (unnest, = ANY), so thousands of changes cost neither a statement nor a bound parameter
each; on SQLite the same steps are SQLAlchemy statements, the writes sent as executemany."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.core.journal_hash import canonical_time, entry_hash
from dashboard.extensions import db
from dashboard.ledger import journal_count
from dashboard.ledger.changes import EXACT, BalanceChange, LedgerError, check_figures
from dashboard.ledger.reasons import as_reason
from dashboard.models import Account, Balance, Currency, JournalEntry, utcnow

ZERO = Decimal(0)


@dataclass(frozen=True)
class Figures:
    available: Decimal
    in_use: Decimal

    @property
    def total(self) -> Decimal:
        return EXACT.add(self.available, self.in_use)


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def execute_arrays(statement: str, parameters: dict):
    """Run a PostgreSQL statement in the session's transaction, its `%(name)b` parameters sent in
    psycopg's binary format: a list of str then goes as a text[] copied as is, where the text
    format escapes every element in Python (by regular expression), the larger part of a batch's
    cost. Numbers go as their text too (str of a Decimal is exact) and are cast in the statement."""
    return db.session.connection().exec_driver_sql(statement, parameters)


def texts(values) -> list[str | None]:
    """Each value as PostgreSQL reads it back exactly (numbers in plain or E notation), None as NULL."""
    return [None if value is None else str(value) for value in values]


def account_ids(emails: list[str]) -> dict[str, int]:
    """email → account id, for the emails that name an account."""
    if on_postgresql():
        rows = execute_arrays("SELECT email, id FROM accounts WHERE email = ANY(%(emails)b)", {"emails": emails})
    else:
        rows = db.session.execute(select(Account.email, Account.id).where(Account.email.in_(emails)))
    return dict(rows.all())


def lock_many(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Figures]:
    """Lock every (account, currency) balance, creating the missing ones at zero, in the one lock
    order every writer uses (account, then currency); returns their figures."""
    if not pairs:
        return {}
    codes = {currency for _, currency in pairs}
    known = set(db.session.execute(select(Currency.code).where(Currency.code.in_(codes))).scalars())
    if codes - known:
        raise LedgerError(f"unknown currency {sorted(codes - known)[0]!r}")
    if not on_postgresql():
        # SQLite has no row locks: its lock is the database's one writer at a time, taken by a
        # transaction's first write and kept to its end. So write first — every balance created
        # if missing — and only then read, so that no other run can commit in between.
        _create_missing(sorted(pairs))
        return _select_locked(sorted({account_id for account_id, _ in pairs}), codes, pairs)
    locked = _select_locked(sorted({account_id for account_id, _ in pairs}), codes, pairs)
    missing = sorted(pairs - locked.keys())
    if missing:
        _create_missing(missing)
        locked |= _select_locked(sorted({account_id for account_id, _ in missing}), codes, set(missing))
    return locked


def _create_missing(pairs: list[tuple[int, str]]) -> None:
    """Balances at zero for the pairs that have none. In lock order, so that two batches creating
    the same rows wait rather than deadlock; one statement, its rows sent as executemany."""
    dialect = postgresql if on_postgresql() else sqlite
    db.session.execute(
        dialect.insert(Balance.__table__).on_conflict_do_nothing(),
        [{"account_id": account_id, "currency_code": currency, "available": ZERO, "in_use": ZERO} for account_id, currency in pairs],
    )


def _select_locked(accounts: list[int], codes: set[str], pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Figures]:
    # Rows are locked in the order they are sorted in (PostgreSQL locks above the sort). The
    # query may lock a balance of these accounts not asked for (another currency of the set);
    # harmless, and one statement rather than a tuple-IN that SQLite plans poorly.
    if on_postgresql():
        # NUMERIC as psycopg reads it, padded to the column's 18 places: exact, and neither the
        # arithmetic nor check_figures minds trailing zeros.
        rows = execute_arrays(
            "SELECT account_id, currency_code, available, in_use FROM balances"
            " WHERE account_id = ANY(%(accounts)b) AND currency_code = ANY(%(codes)b)"
            " ORDER BY account_id, currency_code FOR UPDATE", {"accounts": accounts, "codes": sorted(codes)})
    else:
        rows = db.session.execute(
            select(Balance.account_id, Balance.currency_code, Balance.available, Balance.in_use)
            .where(Balance.account_id.in_(accounts), Balance.currency_code.in_(codes))
            .order_by(Balance.account_id, Balance.currency_code)
            .with_for_update()
        )
    # Fetched at once (.all()): row by row costs a driver call each, thousands per batch.
    return {(account_id, currency): Figures(available, in_use) for account_id, currency, available, in_use in rows.all()
            if (account_id, currency) in pairs}


def recorded_keys(keys: list[str]) -> set[str]:
    """Which of the idempotency keys are already in the journal. Read after lock_many, in a
    statement of its own, so that a concurrent run committed while this one waited is seen."""
    if not keys:
        return set()
    if on_postgresql():
        rows = execute_arrays("SELECT idempotency_key FROM journal_entries WHERE idempotency_key = ANY(%(keys)b)", {"keys": keys})
    else:
        rows = db.session.execute(select(JournalEntry.idempotency_key).where(JournalEntry.idempotency_key.in_(keys)))
    return set(rows.scalars().all())


def write_locked(changes: list[BalanceChange], locked: dict[tuple[int, str], Figures], *, source: str) -> int:
    """Set balances locked by lock_many (this transaction) to the changes' figures and journal
    each with its own reason: the batch counterpart of changes.record_changes. The caller has
    checked the keys (recorded_keys) under the same locks. Returns how many balances changed."""
    changes = [change for change in changes if (change.available, change.in_use) != astuple(locked[change.account_id, change.currency])]
    if not changes:
        return 0
    if len({(change.account_id, change.currency) for change in changes}) != len(changes):
        raise LedgerError("a batch changes each balance at most once")
    places = dict(db.session.execute(select(Currency.code, Currency.decimals)).all())
    for change in changes:
        check_figures(change, places)
    (_write_postgresql if on_postgresql() else _write_sqlite)(changes, locked, source=source[:200], now=utcnow())
    journal_count.written(db.session(), len(changes))
    for change in changes:
        locked[change.account_id, change.currency] = Figures(change.available, change.in_use)
    return len(changes)


def _write_sqlite(changes: list[BalanceChange], locked: dict[tuple[int, str], Figures], *, source: str, now) -> None:
    accounts, codes = {change.account_id for change in changes}, {change.currency for change in changes}
    latest = (
        select(JournalEntry.account_id, JournalEntry.currency_code, func.max(JournalEntry.sequence).label("sequence"))
        .where(JournalEntry.account_id.in_(accounts), JournalEntry.currency_code.in_(codes))
        .group_by(JournalEntry.account_id, JournalEntry.currency_code)
        .subquery()
    )
    last = {
        (account_id, currency): (sequence, effective_at, hash_)
        for account_id, currency, sequence, effective_at, hash_ in db.session.execute(
            select(JournalEntry.account_id, JournalEntry.currency_code, JournalEntry.sequence, JournalEntry.effective_at,
                   JournalEntry.hash)
            .join(latest, (JournalEntry.account_id == latest.c.account_id)
                  & (JournalEntry.currency_code == latest.c.currency_code) & (JournalEntry.sequence == latest.c.sequence))
        )
    }
    entries = _chained_entries(changes, locked, last, source=source, now=now)
    db.session.execute(insert(JournalEntry.__table__), entries)
    balances = Balance.__table__
    db.session.execute(
        update(balances)
        .where(balances.c.account_id == bindparam("key_account"), balances.c.currency_code == bindparam("key_currency"))
        .values(available=bindparam("new_available"), in_use=bindparam("new_in_use")),
        [{"key_account": change.account_id, "key_currency": change.currency,
          "new_available": change.available, "new_in_use": change.in_use} for change in changes],
    )


def _chained_entries(changes, locked, last, *, source: str, now) -> list[dict]:
    """The batch's journal rows, each numbered, timed and hashed after its balance's latest
    entry (`last`: (account, currency) → (sequence, effective_at, hash), read under the
    batch's row locks, so no other writer can chain from the same entry)."""
    entries = []
    for change in changes:
        before = locked[change.account_id, change.currency]
        sequence, effective_at, previous = last.get((change.account_id, change.currency), (0, None, None))
        reason = as_reason(change.reason or "")
        entry = {
            "account_id": change.account_id, "currency_code": change.currency, "sequence": sequence + 1,
            "available_before": before.available, "in_use_before": before.in_use,
            "available_after": change.available, "in_use_after": change.in_use,
            "reason": reason.text[:200], "reason_code": reason.code, "reason_params": reason.params or None,
            # Another server's clock may run a little ahead; the entry then takes effect with the
            # one before it (recorded_at keeps this machine's time), as changes._apply does.
            "source": source, "effective_at": max(now, effective_at) if effective_at else now, "recorded_at": now,
            "idempotency_key": change.key,
        }
        entry["hash"] = entry_hash(previous=previous, **entry)
        entry["prev_hash"] = previous
        entries.append(entry)
    return entries


# Each balance's latest entry, for the batch's balances given as two arrays, under the batch's row locks.
_LATEST = """
SELECT v.account_id, v.currency_code, last.sequence, last.effective_at, last.hash
FROM unnest(%(account_id)b::integer[], %(currency_code)b::text[]) AS v(account_id, currency_code)
JOIN LATERAL (
    SELECT e.sequence, e.effective_at, e.hash FROM journal_entries AS e
    WHERE e.account_id = v.account_id AND e.currency_code = v.currency_code
    ORDER BY e.sequence DESC LIMIT 1
) AS last ON true
"""

# One statement for the whole batch: the changes arrive as one array per column; the balances
# are set and the journal written from the same rows, numbered, timed and hashed in Python by
# _chained_entries as on SQLite.
_WRITE_BATCH = """
WITH v AS (
    SELECT * FROM unnest(%(account_id)b::integer[], %(currency_code)b::text[], %(sequence)b::integer[],
                         %(available_before)b::text[]::numeric[], %(in_use_before)b::text[]::numeric[],
                         %(available_after)b::text[]::numeric[], %(in_use_after)b::text[]::numeric[],
                         %(reason)b::text[], %(reason_code)b::text[], %(reason_params)b::text[]::json[],
                         %(idempotency_key)b::text[], %(effective_at)b::text[]::timestamptz[],
                         %(prev_hash)b::text[], %(hash)b::text[])
        AS v(account_id, currency_code, sequence, available_before, in_use_before, available_after, in_use_after,
             reason, reason_code, reason_params, idempotency_key, effective_at, prev_hash, hash)
), balances_set AS (
    UPDATE balances AS b SET available = v.available_after, in_use = v.in_use_after
    FROM v WHERE b.account_id = v.account_id AND b.currency_code = v.currency_code
)
INSERT INTO journal_entries (account_id, currency_code, sequence, available_before, in_use_before, available_after,
                             in_use_after, reason, reason_code, reason_params, idempotency_key, source, effective_at,
                             recorded_at, prev_hash, hash)
SELECT v.account_id, v.currency_code, v.sequence, v.available_before, v.in_use_before, v.available_after,
       v.in_use_after, v.reason, v.reason_code, v.reason_params, v.idempotency_key, %(source)s::text, v.effective_at,
       %(now)s::timestamptz, v.prev_hash, v.hash
FROM v
"""


def _write_postgresql(changes: list[BalanceChange], locked: dict[tuple[int, str], Figures], *, source: str, now) -> None:
    last = {
        (account_id, currency): (sequence, effective_at, hash_)
        for account_id, currency, sequence, effective_at, hash_ in execute_arrays(_LATEST, {
            "account_id": [change.account_id for change in changes],
            "currency_code": [change.currency for change in changes],
        }).all()
    }
    entries = _chained_entries(changes, locked, last, source=source, now=now)
    # Serialised as SQLAlchemy's JSON type would (json.dumps), once per reason: a compensation's
    # two entries share theirs.
    serialised: dict[int, str | None] = {}
    for entry in entries:
        params = entry["reason_params"]
        if id(params) not in serialised:
            serialised[id(params)] = json.dumps(params) if params else None
    execute_arrays(_WRITE_BATCH, {
        "account_id": [entry["account_id"] for entry in entries],
        "currency_code": [entry["currency_code"] for entry in entries],
        "sequence": [entry["sequence"] for entry in entries],
        "available_before": texts(entry["available_before"] for entry in entries),
        "in_use_before": texts(entry["in_use_before"] for entry in entries),
        "available_after": texts(entry["available_after"] for entry in entries),
        "in_use_after": texts(entry["in_use_after"] for entry in entries),
        "reason": [entry["reason"] for entry in entries],
        "reason_code": [entry["reason_code"] for entry in entries],
        "reason_params": [serialised[id(entry["reason_params"])] for entry in entries],
        "idempotency_key": [entry["idempotency_key"] for entry in entries],
        "effective_at": [canonical_time(entry["effective_at"]) for entry in entries],
        "prev_hash": [entry["prev_hash"] for entry in entries],
        "hash": [entry["hash"] for entry in entries],
        "source": source, "now": now,
    })


def astuple(figures: Figures) -> tuple[Decimal, Decimal]:
    return figures.available, figures.in_use
