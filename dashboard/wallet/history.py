"""An account's net assets over a range: the points of /api/history and of the history chart,
computed exactly from the journal and the rate history, the last one being the wallet now."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cachetools import LRUCache
from flask import current_app

from dashboard.core.formatting import plain
from dashboard.core.history import RANGES, Point, first_non_zero, grid, index_against, index_of, net_asset_points
from dashboard.ledger.net_asset_history import (
    changed_at_or_before,
    database_identity,
    first_entry_at,
    history_version,
    holding_steps,
    rate_steps,
)
from dashboard.wallet.derived import KeepsDerived
from dashboard.wallet.presentation import HIDDEN, present_jpy


class UnknownRange(ValueError):
    """A range other than those of core.history.RANGES."""


@dataclass(eq=False)
class PastPoints(KeepsDerived):
    """A range's points before now, and what is made from them alone (their indices, their
    /api/history rows per language, zone and discreet switch), each made once when first asked
    for: formatting a year of points was most of a request. Shared: never modify what it holds."""

    points: tuple[Point, ...]
    base: Decimal | None = field(init=False)  # the index's base, when it is in the past
    complete: bool = field(init=False)
    _derived: dict = field(default_factory=dict)

    def __post_init__(self):
        self.base = first_non_zero(point.jpy for point in self.points)
        self.complete = all(point.complete for point in self.points)


@dataclass(frozen=True)
class History:
    range: str
    points: tuple[Point, ...]
    index: tuple[Decimal | None, ...]
    past: PastPoints  # points[:-1], with what is kept of them

    @property
    def complete(self) -> bool:
        return self.past.complete and self.points[-1].complete


def net_asset_history(account_id: int, range_name: str, *, now_jpy: Decimal, now_missing: tuple[str, ...],
                      currencies: tuple[str, ...], now: datetime | None = None) -> History:
    """The account's net assets at each moment of the range's grid. now_jpy and now_missing are
    the wallet's figure now and the currencies it could not value (as /api/balance has them),
    which the last point takes; currencies are the enabled ones it lists (they key the memo)."""
    range_ = RANGES.get(range_name) if isinstance(range_name, str) else None
    if range_ is None:
        raise UnknownRange(range_name)
    now = now or datetime.now(UTC)
    first_entry = first_entry_at(account_id) if range_.length is None else None
    moments = grid(range_, now, first_entry)
    # The grid's last moment is now, valued as the wallet is; the others are period boundaries.
    boundaries = moments[:-1]
    first, last = moments[0], (boundaries[-1] if boundaries else now)
    key = (database_identity(), range_.name, account_id, first, last, currencies)
    # Read before the points are: whatever is written while they are made is checked next time.
    version = history_version(account_id)
    past = _kept_past(key, version, account_id, last)
    if past is None:
        holdings = holding_steps(account_id, first, now)
        rates = rate_steps(int(range_.spacing.total_seconds()), first, last) if boundaries else {}
        past = PastPoints(tuple(net_asset_points(boundaries, holdings, rates)))
        with _LOCK:
            _PAST_POINTS[key] = _Kept(version, time.monotonic(), past)
    latest = Point(now, now_jpy, not now_missing, tuple(now_missing))
    return History(range_.name, (*past.points, latest), _indices(past, now_jpy), past)


def _indices(past: PastPoints, now_jpy: Decimal) -> tuple[Decimal | None, ...]:
    """index_of over the past points and now: with the base in the past, the past's indices
    are kept and only now's is made."""
    if past.base is None:  # every past point is zero: now is the base, if anything
        return tuple(index_of([*(point.jpy for point in past.points), now_jpy]))
    kept = past.derived("index", lambda: tuple(index_against([point.jpy for point in past.points], past.base)))
    return (*kept, *index_against([now_jpy], past.base))


# The points before now change only with a tick or journal entry of the account at or before
# the range's last boundary, or when the range moves on by a period; a year of them is a few
# thousand rows to read and sum. Ticks and entries arrive all the time, but nearly all of them
# now, after every past boundary: so the points are kept across them, once one statement has
# checked that nothing written since reaches back that far. Ids are not handed out in commit
# order, so a backdated row written by a long transaction could commit behind a later one
# and escape that check: nothing is kept longer than READ_CACHE_SECONDS (as the read cache),
# which bounds how long such a row goes unseen; 0 computes them for every request.
_PAST_POINTS: LRUCache = LRUCache(maxsize=4096)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Kept:
    version: tuple   # history_version when last known to hold for these points
    made: float      # time.monotonic() when they were computed
    past: PastPoints


def _kept_past(key: tuple, version: tuple, account_id: int, last: datetime) -> PastPoints | None:
    """The kept points of key if they still hold at `version`, else None."""
    with _LOCK:
        kept = _PAST_POINTS.get(key)
    if kept is None or time.monotonic() - kept.made >= current_app.config["READ_CACHE_SECONDS"]:
        return None
    if kept.version != version:
        if changed_at_or_before(account_id, last, kept.version):
            return None
        with _LOCK:  # known to hold at this version too: the next request compares versions only
            _PAST_POINTS[key] = _Kept(version, kept.made, kept.past)
    return kept.past


def history_document(history: History, *, locale: str, zone: str, discreet: bool) -> dict:
    """/api/history's body: exact figures as strings, formatted as the page shows net assets;
    in discreet mode no figure, only the shape (index)."""
    tz = ZoneInfo(zone)
    past = history.past
    count = len(past.points)
    # The past rows' indices change only when the base is now (every past point zero): all
    # None while now is zero too, else all 0.0.
    key = ("rows", locale, zone, discreet, past.base is None and history.index[-1] is None)
    rows = past.derived(key, lambda: tuple(
        _row(point, index, tz=tz, locale=locale, discreet=discreet)
        for point, index in zip(past.points, history.index[:count], strict=True)
    ))
    return {
        "range": history.range,
        "complete": history.complete,
        "points": [*rows, _row(history.points[-1], history.index[-1], tz=tz, locale=locale, discreet=discreet)],
    }


def _row(point: Point, index: Decimal | None, *, tz: ZoneInfo, locale: str, discreet: bool) -> dict:
    return {
        "t": point.t.astimezone(tz).isoformat(),
        "jpy": None if discreet else plain(point.jpy),
        "formatted": HIDDEN if discreet else present_jpy(point.jpy, locale),
        "index": None if index is None else format(index, "f"),
    }
