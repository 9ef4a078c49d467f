"""What an account's net-asset history is computed from: its holdings from the journal and the
rates from their closes, read as step series over a range in three statements."""
from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from cachetools import LRUCache
from sqlalchemy import and_, bindparam, exists, func, literal, or_, select, type_coerce, union_all

from dashboard.core.history import Step, holding_total
from dashboard.extensions import db
from dashboard.models import Currency, JournalEntry, RateClose, RateHistory
from dashboard.read_path import replicas
from dashboard.types import ExactDecimal

_journal, _closes, _currencies = JournalEntry.__table__.c, RateClose.__table__.c, Currency.__table__.c
_history = RateHistory.__table__.c
_LATEST_TICK = select(_history.id, _history.recorded_at).order_by(_history.id.desc()).limit(1)


class _Figure(ExactDecimal):
    """ExactDecimal read without normalising: these figures are only multiplied and summed,
    and a year of them is thousands of rows per request."""

    cache_ok = True

    def process_result_value(self, value, dialect):
        return value if value is None or isinstance(value, Decimal) else Decimal(value)


def _figure(column):
    return type_coerce(column, _Figure())


_LATEST_ENTRY = (
    select(_journal.id, _journal.recorded_at).where(_journal.account_id == bindparam("account_id"))
    .order_by(_journal.id.desc()).limit(1)
)
_LATEST_TICK_ROW, _LATEST_ENTRY_ROW = _LATEST_TICK.subquery(), _LATEST_ENTRY.subquery()
# Both in one statement: they are asked on every wallet page whose figures changed (each rate
# tick), where a second round trip was a tenth of the charts' cost.
_VERSION = union_all(
    select(literal("tick"), _LATEST_TICK_ROW.c.id, _LATEST_TICK_ROW.c.recorded_at),
    select(literal("entry"), _LATEST_ENTRY_ROW.c.id, _LATEST_ENTRY_ROW.c.recorded_at),
)


def _read(account_id: int | None, run):
    """run(connection) on a replica fresh enough for the account (replicas.py), else on the
    session's own connection, as before replicas."""
    return replicas.read(account_id, run, db.session.connection)


def database_identity() -> str:
    """Which database the figures come from, for keys of what is kept per process."""
    return db.engine.url.render_as_string()


def history_version(account_id: int) -> tuple:
    """What changes whenever anything an account's history is made from does: the latest tick
    and the account's latest journal entry (ids and when written, so a database emptied and
    refilled never matches an older state). Two index lookups in one statement."""
    rows = _read(account_id, lambda connection: connection.execute(_VERSION, {"account_id": account_id}).all())
    latest = {kind: (row_id, recorded_at) for kind, row_id, recorded_at in rows}
    return latest.get("tick", ()), latest.get("entry", ())


def changed_at_or_before(account_id: int, moment: datetime, since: tuple) -> bool:
    """Whether anything written after `since` (a history_version) can change the account's
    history at or before `moment`: a tick as of then or earlier, or an entry of the account
    taking effect then or earlier. A tick now, or an entry now, cannot: it is after every past
    boundary. Also true when since's latest rows are gone (the database emptied or refilled).
    One statement; its lookups read only the rows written after since (by id), usually a few."""
    tick, entry = since
    checks = [
        exists().where(_history.id > (tick[0] if tick else 0), _history.as_of <= moment),
        exists().where(_journal.account_id == account_id, _journal.id > (entry[0] if entry else 0),
                       _journal.effective_at <= moment),
    ]
    if tick:
        checks.append(~exists().where(_history.id == tick[0], _history.recorded_at == tick[1]))
    if entry:
        checks.append(~exists().where(_journal.id == entry[0], _journal.recorded_at == entry[1]))
    return bool(_read(account_id, lambda connection: connection.execute(select(or_(*checks))).scalar()))


def first_entry_at(account_id: int) -> datetime | None:
    """When the account's first journal entry took effect (the start of the range "all")."""
    statement = select(func.min(_journal.effective_at)).where(_journal.account_id == account_id)
    return _read(account_id, lambda connection: connection.execute(statement).scalar())


def holding_steps(account_id: int, first: datetime, last: datetime) -> dict[str, list[Step]]:
    """Per enabled currency, available + in use from the journal: one step at `first` with the
    figures as they stood then, then one per entry that took effect after it, up to `last`."""
    carried = (
        select(_journal.currency_code, func.max(_journal.sequence).label("sequence"))
        .where(_journal.account_id == account_id, _journal.effective_at <= first)
        .group_by(_journal.currency_code)
        .subquery()
    )
    opening = (
        select(_journal.currency_code, _figure(_journal.available_after), _figure(_journal.in_use_after))
        .join(carried, and_(_journal.currency_code == carried.c.currency_code, _journal.sequence == carried.c.sequence))
        .join(Currency.__table__, and_(_currencies.code == _journal.currency_code, _currencies.enabled.is_(True)))
        .where(_journal.account_id == account_id)
    )
    later = (
        select(_journal.currency_code, _journal.effective_at, _figure(_journal.available_after), _figure(_journal.in_use_after))
        .join(Currency.__table__, and_(_currencies.code == _journal.currency_code, _currencies.enabled.is_(True)))
        .where(_journal.account_id == account_id, _journal.effective_at > first, _journal.effective_at <= last)
        .order_by(_journal.effective_at, _journal.sequence)
    )
    # .all(): one fetch of every row; iterating the result fetched them one by one, a third of the time.
    opened, changes = _read(account_id, lambda connection: (connection.execute(opening).all(), connection.execute(later).all()))
    steps: dict[str, list[Step]] = defaultdict(list)
    for code, available, in_use in opened:
        steps[code].append(Step(first, holding_total(available, in_use)))
    for code, at, available, in_use in changes:
        steps[code].append(Step(at, holding_total(available, in_use)))
    return dict(steps)


_OPENING_RATE = (
    select(_figure(_closes.jpy_rate))
    .where(_closes.currency_code == _currencies.code, _closes.period_seconds == bindparam("period"),
           _closes.closes_at <= bindparam("first"))
    .order_by(_closes.closes_at.desc())
    .limit(1)
    .correlate(Currency.__table__)
    .scalar_subquery()
)


# The rates of a range are the same for every account until the next tick, while a year of
# them is thousands of rows: kept per process, keyed by the latest tick written (its id and
# when it was written, so a database emptied and refilled never matches an older answer).
_RATE_STEPS: LRUCache = LRUCache(maxsize=64)
_RATE_STEPS_LOCK = threading.Lock()


def rate_steps(period_seconds: int, first: datetime, last: datetime) -> dict[str, tuple[Step, ...]]:
    """Per enabled currency but JPY, its rate as of each period boundary from `first` to `last`
    (both boundaries of that period): the close at or before `first`, then each close after it.
    A boundary's rate is exactly the latest tick at or before it (see core.history.closes_at).
    Shared between requests: never modify what it holds."""
    latest, enabled = _read(None, lambda connection: (
        tuple(connection.execute(_LATEST_TICK).first() or ()),
        tuple(connection.execute(select(_currencies.code).where(_currencies.enabled.is_(True))).scalars())))
    key = (database_identity(), period_seconds, first, last, latest, enabled)
    with _RATE_STEPS_LOCK:
        found = _RATE_STEPS.get(key)
    if found is None:
        found = _read_rate_steps(period_seconds, first, last, tuple(code for code in enabled if code != "jpy"))
        with _RATE_STEPS_LOCK:
            _RATE_STEPS[key] = found
    return found


# The closes of a range, per currency in time order. The currencies are named rather than
# joined: then PostgreSQL reads the primary key (currency, period, closes_at) for just the
# range's rows, where a join made it scan every close of every period (a year of them is
# 600,000 rows: 80-100 ms against 3-8).
_LATER_CLOSES = (
    select(_closes.currency_code, _closes.closes_at, _figure(_closes.jpy_rate))
    .where(_closes.currency_code.in_(bindparam("codes", expanding=True)), _closes.period_seconds == bindparam("period"),
           _closes.closes_at > bindparam("first"), _closes.closes_at <= bindparam("last"))
    .order_by(_closes.currency_code, _closes.closes_at)
)


def _read_rate_steps(period_seconds: int, first: datetime, last: datetime, codes: tuple[str, ...]) -> dict[str, tuple[Step, ...]]:
    if not codes:
        return {}
    steps: dict[str, list[Step]] = defaultdict(list)
    opening = select(_currencies.code, _OPENING_RATE).where(_currencies.code.in_(codes))
    later = {"codes": list(codes), "period": period_seconds, "first": first, "last": last}
    opened, closes = _read(None, lambda connection: (
        connection.execute(opening, {"period": period_seconds, "first": first}).all(),
        connection.execute(_LATER_CLOSES, later).all()))  # one fetch each, as above
    for code, rate in opened:
        if rate is not None:
            steps[code].append(Step(first, rate))
    for code, at, rate in closes:
        steps[code].append(Step(at, rate))
    return {code: tuple(series) for code, series in steps.items()}
