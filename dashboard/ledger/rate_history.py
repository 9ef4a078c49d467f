"""The rate history: every tick appended with its time and source, each period's close kept up
to date in the same transaction, and the rates as they stood at a past moment."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.core.history import PERIODS, closes_at
from dashboard.extensions import db
from dashboard.models import Currency, RateClose, RateHistory, utcnow


@dataclass(frozen=True)
class Tick:
    currency: str
    jpy_rate: Decimal
    as_of: datetime
    source: str


def append_ticks(ticks: Iterable[Tick]) -> int:
    """Append the ticks to the history and fold them into the closes, in the caller's
    transaction. Ticks of one currency are taken in the order given."""
    ticks = list(ticks)
    if not ticks:
        return 0
    now = utcnow()
    db.session.execute(insert(RateHistory), [
        {"currency_code": tick.currency, "jpy_rate": tick.jpy_rate, "as_of": tick.as_of, "source": tick.source[:200],
         "recorded_at": now}
        for tick in ticks
    ])
    # Only the last tick of each period matters to its close: fold in Python, write once.
    closes: dict[tuple[str, int, datetime], Tick] = {}
    for tick in ticks:
        for period in PERIODS:
            key = (tick.currency, period, closes_at(tick.as_of, period))
            kept = closes.get(key)
            if kept is None or tick.as_of >= kept.as_of:
                closes[key] = tick
    _upsert_closes(
        [{"currency_code": code, "period_seconds": period, "closes_at": end, "jpy_rate": tick.jpy_rate, "as_of": tick.as_of}
         for (code, period, end), tick in closes.items()]
    )
    return len(ticks)


def _upsert_closes(rows: list[dict]) -> None:
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(RateClose)
    # A tick at the same moment as the close's, written later, wins: as the current rate does.
    statement = statement.on_conflict_do_update(
        index_elements=["currency_code", "period_seconds", "closes_at"],
        set_={"jpy_rate": statement.excluded.jpy_rate, "as_of": statement.excluded.as_of},
        where=statement.excluded.as_of >= RateClose.__table__.c.as_of,
    )
    for start in range(0, len(rows), 5000):
        db.session.execute(statement, rows[start:start + 5000])


@dataclass(frozen=True)
class HistoricRate:
    currency: str
    jpy_rate: Decimal
    as_of: datetime


def rates_as_of(moment: datetime) -> list[HistoricRate]:
    """Per currency (in display order), the last rate of the history at or before `moment`;
    currencies without one by then are left out. Of two ticks at one moment, the later
    written counts, as it did for the current rate."""
    history = RateHistory.__table__.c
    latest = (
        select(history.currency_code, func.max(history.as_of).label("as_of"))
        .where(history.as_of <= moment)
        .group_by(history.currency_code)
        .subquery()
    )
    last_id = (
        select(history.currency_code, func.max(history.id).label("id"))
        .join(latest, and_(history.currency_code == latest.c.currency_code, history.as_of == latest.c.as_of))
        .group_by(history.currency_code)
        .subquery()
    )
    query = (
        select(history.currency_code, history.jpy_rate, history.as_of)
        .join(last_id, history.id == last_id.c.id)
        .join(Currency.__table__, Currency.__table__.c.code == history.currency_code)
        .order_by(Currency.__table__.c.display_order, history.currency_code)
    )
    return [HistoricRate(*row) for row in db.session.execute(query)]
