"""Balance files in and out: an import is validated whole, then applied through the ledger in one
transaction, at most once; the export writes the same format, exact and in plain notation."""
from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import func, select

from dashboard.core.formatting import plain
from dashboard.core.terminal_text import neutralize_cell
from dashboard.extensions import db
from dashboard.ledger.changes import BalanceChange, LedgerError, record_changes
from dashboard.ledger.imports import BALANCE_HEADER, FileRefused, Problem, read_balances
from dashboard.ledger.journal import Holding
from dashboard.ledger.reasons import Reason, balance_import
from dashboard.models import Account, Balance, Currency, JournalEntry

_CHUNK = 500  # keys per IN (...) query, well under SQLite's limit on bound parameters


@dataclass(frozen=True)
class ImportResult:
    digest: str
    lines: int
    changed: int = 0
    unchanged: int = 0
    # Lines whose idempotency key was already in the journal.
    already_applied: int = 0
    applied_on: datetime | None = None


def import_balances(data: bytes, *, name: str, at: datetime | None = None, reason: str | Reason | None = None) -> ImportResult:
    """Apply a balance file inside the caller's transaction (the caller commits). Raises
    FileRefused listing every bad line; a file already applied changes nothing."""
    currencies = dict(db.session.execute(select(Currency.code, Currency.decimals)).all())
    lines = read_balances(data, currencies, _find_accounts)
    digest = hashlib.sha256(data).hexdigest()
    keys = {line.line: f"balances:{digest}:{line.line}" for line in lines}
    recorded, applied_on = _recorded(keys.values())
    if recorded:
        # Some of its lines changed nothing the first time and left no entry; the file as a
        # whole was applied all the same, and is not applied again.
        return ImportResult(digest, len(lines), already_applied=len(lines), applied_on=applied_on)
    changes = [BalanceChange(line.account_id, line.currency, line.available, line.in_use, key=keys[line.line]) for line in lines]
    try:
        outcome = record_changes(changes, reason=reason or balance_import(), source=f"import {name} sha256:{digest[:16]}"[:200], at=at)
    except LedgerError as error:
        line = next((number for number, key in keys.items() if error.change is not None and error.change.key == key), None)
        raise FileRefused([Problem(line, str(error))]) from None
    return ImportResult(digest, len(lines), outcome.changed, outcome.unchanged, outcome.already_applied)


def current_balances() -> list[Holding]:
    """Every balance row, by email then in the currencies' display order."""
    query = (
        select(Account.email, Balance.currency_code, Balance.available, Balance.in_use)
        .join(Account, Account.id == Balance.account_id)
        .join(Currency, Currency.code == Balance.currency_code)
        .order_by(Account.email, Currency.display_order)
    )
    return [Holding(*row) for row in db.session.execute(query)]


def write_balances(holdings: Iterable[Holding], stream: TextIO) -> int:
    """The import format: a header, then one line per balance, amounts exact in plain notation."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(BALANCE_HEADER)
    count = 0
    for holding in holdings:
        # An email that a spreadsheet would run as a formula is written quoted (OWASP); the
        # import takes the quote off again.
        writer.writerow((neutralize_cell(holding.email), holding.currency, plain(holding.available), plain(holding.in_use)))
        count += 1
    return count


def _find_accounts(emails: Iterable[str]) -> dict[str, int]:
    emails, found = list(emails), {}
    for start in range(0, len(emails), _CHUNK):
        found.update(db.session.execute(select(Account.email, Account.id).where(Account.email.in_(emails[start:start + _CHUNK]))).all())
    return found


def _recorded(keys: Iterable[str]) -> tuple[int, datetime | None]:
    """How many of the keys are in the journal, and when the first of them was written."""
    keys, count, first = list(keys), 0, None
    for start in range(0, len(keys), _CHUNK):
        number, when = db.session.execute(
            select(func.count(), func.min(JournalEntry.recorded_at)).where(JournalEntry.idempotency_key.in_(keys[start:start + _CHUNK]))
        ).one()
        count += number
        if when is not None and (first is None or when < first):
            first = when
    return count, first
