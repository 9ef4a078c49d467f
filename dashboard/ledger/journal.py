"""Reading the balance journal: an account's history, holdings as of a past moment, and the
check that every balance equals its journal's last figures."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select

from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.models import Account, Balance, Currency, JournalEntry

ZERO = Decimal(0)


@dataclass(frozen=True)
class Holding:
    email: str
    currency: str
    available: Decimal
    in_use: Decimal


def history(account_id: int, currency: str | None = None) -> list[JournalEntry]:
    """The account's journal entries in the order they took effect."""
    query = select(JournalEntry).where(JournalEntry.account_id == account_id)
    if currency is not None:
        query = query.where(JournalEntry.currency_code == currency)
    return list(db.session.execute(query.order_by(JournalEntry.effective_at, JournalEntry.id)).scalars())


def holdings_as_of(moment: datetime, currency: str | None = None) -> list[Holding]:
    """Every account's balances as they stood at `moment`: for each balance, the figures after
    its last journal entry that took effect at or before then. Balances with no entry by then
    are left out (they were zero); a balance that had been emptied is listed at zero."""
    last = (
        select(JournalEntry.account_id, JournalEntry.currency_code, func.max(JournalEntry.sequence).label("sequence"))
        .where(JournalEntry.effective_at <= moment)
        .group_by(JournalEntry.account_id, JournalEntry.currency_code)
    )
    if currency is not None:
        last = last.where(JournalEntry.currency_code == currency)
    last = last.subquery()
    query = (
        select(Account.email, JournalEntry.currency_code, JournalEntry.available_after, JournalEntry.in_use_after)
        .join(last, and_(JournalEntry.account_id == last.c.account_id, JournalEntry.currency_code == last.c.currency_code,
                         JournalEntry.sequence == last.c.sequence))
        .join(Account, Account.id == JournalEntry.account_id)
        .join(Currency, Currency.code == JournalEntry.currency_code)
        .order_by(Account.email, Currency.display_order)
    )
    return [Holding(*row) for row in db.session.execute(query)]


def verify() -> tuple[int, int, list[str]]:
    """Walk every balance's journal: numbered 1, 2, 3... without gaps, each entry starting
    where the one before ended (the first from zero), the last ending at the balance itself.
    Returns the balances and entries checked and the problems found."""
    balances = {
        (account_id, code): (email, available, in_use)
        for account_id, code, email, available, in_use in db.session.execute(
            select(Balance.account_id, Balance.currency_code, Account.email, Balance.available, Balance.in_use)
            .join(Account, Account.id == Balance.account_id)
        )
    }
    problems: list[str] = []
    entries = 0
    journalled = set()
    for key, chain in _chains():
        journalled.add(key)
        entries += len(chain)
        email, available, in_use = balances.get(key, (f"account {key[0]}", None, None))
        where = f"{email} {key[1]}"
        expected = (ZERO, ZERO)
        for number, entry in enumerate(chain, start=1):
            if entry.sequence != number:
                problems.append(f"{where}: entry {number} is numbered {entry.sequence}")
            if (entry.available_before, entry.in_use_before) != expected:
                problems.append(f"{where}: entry {entry.sequence} starts from {_pair(entry.available_before, entry.in_use_before)}, "
                                f"the entry before ended at {_pair(*expected)}")
            expected = (entry.available_after, entry.in_use_after)
        if available is None:
            problems.append(f"{where}: has journal entries but no balance")
        elif (available, in_use) != expected:
            problems.append(f"{where}: balance is {_pair(available, in_use)}, its journal ends at {_pair(*expected)}")
    for key, (email, available, in_use) in balances.items():
        if key not in journalled and (available, in_use) != (ZERO, ZERO):
            problems.append(f"{email} {key[1]}: balance is {_pair(available, in_use)} with no journal entry")
    return len(balances), entries, problems


def _chains() -> Iterator[tuple[tuple[int, str], list[JournalEntry]]]:
    """Each balance's journal entries in sequence order, streamed."""
    query = select(JournalEntry).order_by(JournalEntry.account_id, JournalEntry.currency_code, JournalEntry.sequence)
    key, chain = None, []
    for entry in db.session.execute(query.execution_options(yield_per=1000)).scalars():
        if (entry.account_id, entry.currency_code) != key:
            if chain:
                yield key, chain
            key, chain = (entry.account_id, entry.currency_code), []
        chain.append(entry)
    if chain:
        yield key, chain


def _pair(available: Decimal, in_use: Decimal) -> str:
    return f"available {plain(available)} / in use {plain(in_use)}"
