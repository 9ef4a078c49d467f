"""One page of an account's journal, newest first."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Currency, JournalEntry
from dashboard.read_path import replicas

_journal = JournalEntry.__table__

PER_PAGE = 20


@dataclass(frozen=True)
class FeedPage:
    number: int
    pages: int
    total: int
    entries: list[tuple]  # each entry (a row with the journal's columns) with its currency's decimal places


class NoSuchPage(LookupError):
    def __init__(self, number: int, pages: int):
        super().__init__(f"no page {number} of {pages}")
        self.number, self.pages = number, pages


def activity_page(account_id: int, number: int, per_page: int = PER_PAGE) -> FeedPage:
    """Page `number` (from 1) of the account's entries, by the time they took effect, newest
    first. Page 1 exists even when there is nothing yet; a page past the last raises NoSuchPage."""
    def run(connection):
        total = connection.execute(select(func.count()).select_from(_journal).where(_journal.c.account_id == account_id)).scalar()
        pages = max(1, -(-total // per_page))
        if number > pages:
            return total, pages, None
        return total, pages, connection.execute(
            select(*_journal.c, Currency.__table__.c.decimals.label("places"))
            .join(Currency.__table__, Currency.__table__.c.code == _journal.c.currency_code)
            .where(_journal.c.account_id == account_id)
            # id breaks ties: the two entries of one compensation share their time.
            .order_by(_journal.c.effective_at.desc(), _journal.c.id.desc())
            .offset((number - 1) * per_page)
            .limit(per_page)
        ).all()

    # Both statements on one connection: a replica fresh enough for the account, or the session's.
    total, pages, rows = replicas.read(account_id, run, db.session.connection)
    if rows is None:
        raise NoSuchPage(number, pages)
    return FeedPage(number, pages, total, [(row, row.places) for row in rows])
