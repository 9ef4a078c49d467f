"""Journal entries counted into the metrics when their transaction commits, not when written.

A write that is rolled back (a refused import, a retried deadlock) wrote no entry; counting at
commit keeps `dashboard_journal_entries_total` equal to the rows that exist."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from dashboard.metrics import JOURNAL_ENTRIES

PENDING = "dashboard_journal_entries_pending"


def written(session: Session, count: int) -> None:
    """`count` entries were written in the session's current transaction."""
    session.info[PENDING] = session.info.get(PENDING, 0) + count


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    count = session.info.pop(PENDING, 0)
    if count:
        JOURNAL_ENTRIES.inc(count)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)
