"""The one place balances change, one at a time (batches.py changes many at once by the same
rules); every caller (imports, the demo seed, the CLI) goes through it, and every change writes
its journal entry in the same transaction."""
from __future__ import annotations

import decimal
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.ledger import journal_count
from dashboard.ledger.reasons import Reason, as_reason
from dashboard.models import Balance, Currency, JournalEntry, utcnow
from dashboard.types import INTEGER_DIGITS, PRECISION

ZERO = Decimal(0)
T = TypeVar("T")
# Deadlock and serialization failures: the transaction did nothing and may simply be run again.
RETRYABLE_SQLSTATES = {"40001", "40P01"}


class LedgerError(ValueError):
    """A change the ledger refuses; nothing of the transaction should be committed."""

    def __init__(self, message: str, change: BalanceChange | None = None):
        super().__init__(message)
        self.change = change


@dataclass(frozen=True)
class BalanceChange:
    account_id: int
    currency: str
    available: Decimal
    in_use: Decimal
    # A change whose key is already in the journal is not applied again (imports use
    # sha256-of-file:line, so the same file applied twice changes nothing the second time).
    key: str | None = None
    # This change's own reason, where a batch's changes each have one (write_locked).
    reason: Reason | None = None


@dataclass
class Outcome:
    changed: int = 0
    unchanged: int = 0
    already_applied: int = 0
    entries: list[JournalEntry] = field(default_factory=list)


def apply_changes(changes: list[BalanceChange], *, reason: str | Reason, source: str, at: datetime | None = None) -> int:
    """Set each (account, currency) to the given figures inside the caller's transaction.
    Returns how many balances actually changed."""
    return record_changes(changes, reason=reason, source=source, at=at).changed


def record_changes(changes: list[BalanceChange], *, reason: str | Reason, source: str, at: datetime | None = None) -> Outcome:
    """apply_changes, telling also how many were already in place or already applied.
    `at` is when the changes took effect (default now); it may be in the past for a file
    of balances as they stood then, but never in the future nor before a balance's latest
    journal entry, so that a journal's order is also its order in time."""
    _check_moment(at)
    outcome = Outcome()
    # One lock order for every writer: two imports listing the same balances in different
    # orders would otherwise each hold a row the other waits for.
    for change in sorted(changes, key=lambda change: (change.account_id, change.currency)):
        balance = _lock(change.account_id, change.currency)
        if change.key is not None and _key_recorded(change.key):
            outcome.already_applied += 1
            continue
        entry = _apply(balance, change, reason=reason, source=source, at=at)
        if entry is None:
            outcome.unchanged += 1
        else:
            outcome.changed += 1
            outcome.entries.append(entry)
    db.session.flush()
    return outcome


def adjust(account_id: int, currency: str, *, available: Decimal = ZERO, in_use: Decimal = ZERO,
           reason: str | Reason, source: str, at: datetime | None = None, key: str | None = None) -> JournalEntry | None:
    """Add the (signed) amounts to a balance. Read and written under the balance's row lock,
    so concurrent adjustments never lose one another. `key` is the entry's idempotency key
    (a fill's or a transfer's: the entry then points at it)."""
    return _change_locked(account_id, currency, lambda balance: (_add(balance.available, available), _add(balance.in_use, in_use)),
                          reason=reason, source=source, at=at, key=key)


def set_balance(account_id: int, currency: str, *, available: Decimal | None = None, in_use: Decimal | None = None,
                reason: str | Reason, source: str, at: datetime | None = None) -> JournalEntry | None:
    """Set one or both figures of a balance; a figure not given stays as it is under the lock."""
    return _change_locked(
        account_id, currency,
        lambda balance: (balance.available if available is None else available, balance.in_use if in_use is None else in_use),
        reason=reason, source=source, at=at)


def _change_locked(account_id, currency, figures, *, reason, source, at, key=None) -> JournalEntry | None:
    _check_moment(at)
    balance = _lock(account_id, currency)
    change = BalanceChange(account_id, currency, *figures(balance), key=key)
    entry = _apply(balance, change, reason=reason, source=source, at=at)
    db.session.flush()
    return entry


def in_transaction(work: Callable[[], T], *, attempts: int = 3) -> tuple[T, int]:
    """Run work() and commit, running it again (at most `attempts` times in all) when the
    database reports a deadlock or serialization failure. Returns its result and the retries."""
    for attempt in range(attempts):
        try:
            result = work()
            db.session.commit()
            return result, attempt
        except DBAPIError as error:
            db.session.rollback()
            if attempt + 1 == attempts or not _retryable(error):
                raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # jitter, so the two do not meet again
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def _retryable(error: DBAPIError) -> bool:
    if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)  # SQLite: another writer held the file too long


def _check_moment(at: datetime | None) -> None:
    if at is None:
        return
    if at.tzinfo is None:
        raise LedgerError("a change's time must carry a time zone")
    if at > utcnow():
        raise LedgerError(f"a change cannot take effect in the future ({at.isoformat()})")


def _lock(account_id: int, currency: str) -> Balance:
    """The balance row, created at zero if missing, locked until the transaction ends."""
    if db.session.get(Currency, currency) is None:
        raise LedgerError(f"unknown currency {currency!r}")
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    # Created with ON CONFLICT DO NOTHING: two transactions creating the same balance then
    # wait for each other on the row instead of one failing on the primary key.
    db.session.execute(
        dialect.insert(Balance)
        .values(account_id=account_id, currency_code=currency, available=ZERO, in_use=ZERO)
        .on_conflict_do_nothing()
    )
    return db.session.execute(
        select(Balance)
        .where(Balance.account_id == account_id, Balance.currency_code == currency)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _key_recorded(key: str) -> bool:
    return db.session.execute(select(JournalEntry.id).where(JournalEntry.idempotency_key == key)).first() is not None


def _apply(balance: Balance, change: BalanceChange, *, reason: str | Reason, source: str, at: datetime | None) -> JournalEntry | None:
    """Set the locked balance to the change's figures and journal it; None if already so.
    Times are read only now, under the lock, so that entries written one after another on
    one balance also have times in that order."""
    check_figures(change)
    if balance.available == change.available and balance.in_use == change.in_use:
        return None
    last = db.session.execute(
        select(JournalEntry.sequence, JournalEntry.effective_at, JournalEntry.hash)
        .where(JournalEntry.account_id == change.account_id, JournalEntry.currency_code == change.currency)
        .order_by(JournalEntry.sequence.desc())
        .limit(1)
    ).first()
    now = utcnow()
    if at is None:
        # Another server's clock may run a little ahead; the entry then takes effect with the
        # one before it (recorded_at keeps this machine's time).
        at = max(now, last.effective_at) if last is not None else now
    elif last is not None and at < last.effective_at:
        raise LedgerError(
            f"{change.currency} of account {change.account_id}: a change at {at.isoformat()} would come before "
            f"its latest journal entry ({last.effective_at.isoformat()})", change)
    reason = as_reason(change.reason or reason)
    entry = JournalEntry(
        account_id=change.account_id, currency_code=change.currency, sequence=(last.sequence + 1) if last else 1,
        available_before=balance.available, in_use_before=balance.in_use,
        available_after=change.available, in_use_after=change.in_use,
        reason=reason.text[:200], reason_code=reason.code, reason_params=reason.params or None,
        source=source[:200], effective_at=at, recorded_at=now, idempotency_key=change.key,
        # Chained after the balance's latest entry, read under the balance's row lock: two
        # writers never chain from the same entry (the lock, and journal_sequence_unique).
        prev_hash=last.hash if last else None,
    )
    entry.hash = entry.computed_hash()
    balance.available, balance.in_use = change.available, change.in_use
    db.session.add(entry)
    journal_count.written(db.session(), 1)
    return entry


def subtract(figure: Decimal, amount: Decimal) -> Decimal:
    """figure − amount, exactly."""
    return EXACT.subtract(figure, amount)


def add(figure: Decimal, amount: Decimal) -> Decimal:
    """figure + amount, exactly."""
    return EXACT.add(figure, amount)


def check_figures(change: BalanceChange, places: dict[str, int] | None = None) -> None:
    """places: currency code → decimal places, when the caller has read them for a whole batch."""
    decimals = places.get(change.currency) if places is not None else getattr(db.session.get(Currency, change.currency), "decimals", None)
    if decimals is None:
        raise LedgerError(f"unknown currency {change.currency!r}", change)
    for name, value in (("available", change.available), ("in use", change.in_use)):
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise LedgerError(f"{name} must be an exact Decimal, not {type(value).__name__}", change)
        value = Decimal(value)
        if not value.is_finite():
            raise LedgerError(f"{name} must be a finite number", change)
        if value < 0:
            raise LedgerError(f"{change.currency} {name} would be negative ({value})", change)
        if not value.is_zero() and value.adjusted() >= INTEGER_DIGITS:
            raise LedgerError(f"{change.currency} {name} is too large ({value})", change)
        # Whole once scaled by the currency's places: trailing zeros (as PostgreSQL pads NUMERIC) are no places.
        scaled = EXACT.scaleb(value, decimals)
        if scaled != scaled.to_integral_value():
            raise LedgerError(f"{change.currency} {name} has more than {decimals} decimal places ({plain(value)})", change)


# Balances have up to 40 digits, more than the default context's 28: arithmetic on them must
# never round silently.
EXACT = decimal.Context(prec=2 * PRECISION, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def _add(figure: Decimal, amount: Decimal) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise LedgerError(f"an adjustment must be an exact Decimal, not {type(amount).__name__}")
    return EXACT.add(figure, Decimal(amount))
