"""The one place balances change; every caller (imports, the demo seed, the CLI) goes through it,
and every change writes its journal entry in the same transaction."""
from __future__ import annotations

import decimal
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from dashboard.core.formatting import normalize
from dashboard.extensions import db
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
           reason: str | Reason, source: str, at: datetime | None = None) -> JournalEntry | None:
    """Add the (signed) amounts to a balance. Read and written under the balance's row lock,
    so concurrent adjustments never lose one another."""
    return _change_locked(account_id, currency, lambda balance: (_add(balance.available, available), _add(balance.in_use, in_use)),
                          reason=reason, source=source, at=at)


def set_balance(account_id: int, currency: str, *, available: Decimal | None = None, in_use: Decimal | None = None,
                reason: str | Reason, source: str, at: datetime | None = None) -> JournalEntry | None:
    """Set one or both figures of a balance; a figure not given stays as it is under the lock."""
    return _change_locked(
        account_id, currency,
        lambda balance: (balance.available if available is None else available, balance.in_use if in_use is None else in_use),
        reason=reason, source=source, at=at)


def _change_locked(account_id, currency, figures, *, reason, source, at) -> JournalEntry | None:
    _check_moment(at)
    balance = _lock(account_id, currency)
    change = BalanceChange(account_id, currency, *figures(balance))
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
    _check_figures(change)
    if balance.available == change.available and balance.in_use == change.in_use:
        return None
    last = db.session.execute(
        select(JournalEntry.sequence, JournalEntry.effective_at)
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
    )
    balance.available, balance.in_use = change.available, change.in_use
    db.session.add(entry)
    return entry


# --- many balances at once: a batch of a compensation run ----------------------------------

@dataclass(frozen=True)
class Figures:
    available: Decimal
    in_use: Decimal

    @property
    def total(self) -> Decimal:
        return _EXACT.add(self.available, self.in_use)


def lock_many(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Figures]:
    """Lock every (account, currency) balance, creating the missing ones at zero, in the one lock
    order every writer uses; returns their figures. Statements per call, not per balance: a
    compensation run locks thousands at a time."""
    if not pairs:
        return {}
    codes = {currency for _, currency in pairs}
    known = set(db.session.execute(select(Currency.code).where(Currency.code.in_(codes))).scalars())
    if codes - known:
        raise LedgerError(f"unknown currency {sorted(codes - known)[0]!r}")
    accounts = sorted({account_id for account_id, _ in pairs})
    locked = _select_locked(accounts, codes, pairs)
    missing = sorted(pairs - locked.keys())
    if missing:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        # Created in lock order, so that two batches creating the same rows wait rather than
        # deadlock; one statement compiled once, its rows sent in batches (executemany).
        db.session.execute(
            dialect.insert(Balance.__table__).on_conflict_do_nothing(),
            [{"account_id": account_id, "currency_code": currency, "available": ZERO, "in_use": ZERO} for account_id, currency in missing],
        )
        locked |= _select_locked(sorted({account_id for account_id, _ in missing}), codes, set(missing))
    return locked


def _select_locked(accounts: list[int], codes: set[str], pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Figures]:
    rows = db.session.execute(
        select(Balance.account_id, Balance.currency_code, Balance.available, Balance.in_use)
        .where(Balance.account_id.in_(accounts), Balance.currency_code.in_(codes))
        .order_by(Balance.account_id, Balance.currency_code)
        .with_for_update()
    )
    # The query may lock a balance of these accounts not asked for (another currency of the
    # set); harmless, and one statement rather than a tuple-IN that SQLite plans poorly.
    return {(account_id, currency): Figures(available, in_use) for account_id, currency, available, in_use in rows
            if (account_id, currency) in pairs}


def recorded_keys(keys: list[str]) -> set[str]:
    """Which of the idempotency keys are already in the journal."""
    if not keys:
        return set()
    return set(db.session.execute(select(JournalEntry.idempotency_key).where(JournalEntry.idempotency_key.in_(keys))).scalars())


def write_locked(changes: list[BalanceChange], locked: dict[tuple[int, str], Figures], *, source: str) -> int:
    """Set balances locked by lock_many (this transaction) to the changes' figures and journal
    each with its own reason: the batch counterpart of record_changes, a few statements for
    thousands of changes. The caller has checked the keys (recorded_keys) under the same locks.
    Returns how many balances changed."""
    changes = [change for change in changes if (change.available, change.in_use) != astuple(locked[change.account_id, change.currency])]
    if not changes:
        return 0
    places = dict(db.session.execute(select(Currency.code, Currency.decimals)).all())
    for change in changes:
        _check_figures(change, places)
    accounts = sorted({change.account_id for change in changes})
    codes = {change.currency for change in changes}
    last = {
        (account_id, currency): (sequence, effective_at)
        for account_id, currency, sequence, effective_at in db.session.execute(
            # Sequence and time grow together on a balance (_apply refuses a change dated earlier).
            select(JournalEntry.account_id, JournalEntry.currency_code, func.max(JournalEntry.sequence), func.max(JournalEntry.effective_at))
            .where(JournalEntry.account_id.in_(accounts), JournalEntry.currency_code.in_(codes))
            .group_by(JournalEntry.account_id, JournalEntry.currency_code)
        )
    }
    now = utcnow()
    entries, figures = [], []
    for change in changes:
        before = locked[change.account_id, change.currency]
        sequence, effective_at = last.get((change.account_id, change.currency), (0, None))
        reason = as_reason(change.reason or "")
        entries.append({
            "account_id": change.account_id, "currency_code": change.currency, "sequence": sequence + 1,
            "available_before": before.available, "in_use_before": before.in_use,
            "available_after": change.available, "in_use_after": change.in_use,
            "reason": reason.text[:200], "reason_code": reason.code, "reason_params": reason.params or None,
            "source": source[:200], "effective_at": max(now, effective_at) if effective_at else now, "recorded_at": now,
            "idempotency_key": change.key,
        })
        figures.append({"key_account": change.account_id, "key_currency": change.currency,
                        "new_available": change.available, "new_in_use": change.in_use})
    db.session.execute(insert(JournalEntry.__table__), entries)
    balances = Balance.__table__
    db.session.execute(
        update(balances)
        .where(balances.c.account_id == bindparam("key_account"), balances.c.currency_code == bindparam("key_currency"))
        .values(available=bindparam("new_available"), in_use=bindparam("new_in_use")),
        figures,
    )
    for change in changes:
        locked[change.account_id, change.currency] = Figures(change.available, change.in_use)
    return len(changes)


def astuple(figures: Figures) -> tuple[Decimal, Decimal]:
    return figures.available, figures.in_use


def subtract(figure: Decimal, amount: Decimal) -> Decimal:
    """figure − amount, exactly."""
    return _EXACT.subtract(figure, amount)


def add(figure: Decimal, amount: Decimal) -> Decimal:
    """figure + amount, exactly."""
    return _EXACT.add(figure, amount)


def _check_figures(change: BalanceChange, places: dict[str, int] | None = None) -> None:
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
        if -normalize(value).as_tuple().exponent > decimals:
            raise LedgerError(f"{change.currency} {name} has more than {decimals} decimal places ({value})", change)


# Balances have up to 40 digits, more than the default context's 28: arithmetic on them must
# never round silently.
_EXACT = decimal.Context(prec=2 * PRECISION, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def _add(figure: Decimal, amount: Decimal) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise LedgerError(f"an adjustment must be an exact Decimal, not {type(amount).__name__}")
    return _EXACT.add(figure, Decimal(amount))
