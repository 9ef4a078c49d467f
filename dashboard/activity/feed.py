"""One page of an account's journal, newest first."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Currency, JournalEntry

PER_PAGE = 20


@dataclass(frozen=True)
class FeedPage:
    number: int
    pages: int
    total: int
    entries: list[tuple[JournalEntry, int]]  # each entry with its currency's decimal places


class NoSuchPage(LookupError):
    def __init__(self, number: int, pages: int):
        super().__init__(f"no page {number} of {pages}")
        self.number, self.pages = number, pages


def activity_page(account_id: int, number: int, per_page: int = PER_PAGE) -> FeedPage:
    """Page `number` (from 1) of the account's entries, by the time they took effect, newest
    first. Page 1 exists even when there is nothing yet; a page past the last raises NoSuchPage."""
    total = db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.account_id == account_id))
    pages = max(1, -(-total // per_page))
    if number > pages:
        raise NoSuchPage(number, pages)
    rows = db.session.execute(
        select(JournalEntry, Currency.decimals)
        .join(Currency, Currency.code == JournalEntry.currency_code)
        .where(JournalEntry.account_id == account_id)
        # id breaks ties: the two entries of one compensation share their time.
        .order_by(JournalEntry.effective_at.desc(), JournalEntry.id.desc())
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    return FeedPage(number, pages, total, [(entry, decimals) for entry, decimals in rows])
