"""An account's net assets over a range: the points of /api/history and of the history chart,
computed exactly from the journal and the rate history, the last one being the wallet now."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cachetools import LRUCache

from dashboard.core.formatting import plain
from dashboard.core.history import RANGES, Point, grid, index_of, net_asset_points
from dashboard.ledger.net_asset_history import first_entry_at, history_version, holding_steps, rate_steps
from dashboard.wallet.presentation import HIDDEN, present_jpy


class UnknownRange(ValueError):
    """A range other than those of core.history.RANGES."""


@dataclass(frozen=True)
class History:
    range: str
    points: tuple[Point, ...]
    index: tuple[Decimal | None, ...]

    @property
    def complete(self) -> bool:
        return all(point.complete for point in self.points)


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
    key = (range_.name, account_id, first, last, currencies, history_version(account_id))
    with _LOCK:
        past = _PAST_POINTS.get(key)
    if past is None:
        holdings = holding_steps(account_id, first, now)
        rates = rate_steps(int(range_.spacing.total_seconds()), first, last) if boundaries else {}
        past = tuple(net_asset_points(boundaries, holdings, rates))
        with _LOCK:
            _PAST_POINTS[key] = past
    points = (*past, Point(now, now_jpy, not now_missing, tuple(now_missing)))
    return History(range_.name, points, tuple(index_of(point.jpy for point in points)))


# The points before now change only with a new tick or journal entry of the account, or when
# the range moves on by a period; a year of them is a few thousand rows to read and sum. Kept
# per process, keyed by exactly those (ledger.net_asset_history.history_version).
_PAST_POINTS: LRUCache = LRUCache(maxsize=4096)
_LOCK = threading.Lock()


def history_document(history: History, *, locale: str, zone: str, discreet: bool) -> dict:
    """/api/history's body: exact figures as strings, formatted as the page shows net assets;
    in discreet mode no figure, only the shape (index)."""
    tz = ZoneInfo(zone)
    return {
        "range": history.range,
        "complete": history.complete,
        "points": [
            {
                "t": point.t.astimezone(tz).isoformat(),
                "jpy": None if discreet else plain(point.jpy),
                "formatted": HIDDEN if discreet else present_jpy(point.jpy, locale),
                "index": None if index is None else format(index, "f"),
            }
            for point, index in zip(history.points, history.index, strict=True)
        ],
    }
