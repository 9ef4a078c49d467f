"""Net assets over time, exactly: the grid of moments a range is drawn at, the period each rate
tick closes, and the sum over currencies of (holding as of t) × (rate as of t) at each moment."""
from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

__all__ = [
    "RANGES",
    "PERIODS",
    "Range",
    "Step",
    "Point",
    "closes_at",
    "grid",
    "net_asset_points",
    "index_of",
    "index_against",
    "first_non_zero",
    "holding_total",
]

JPY = "jpy"

# Every boundary is a whole number of periods after this Monday, so weekly closes fall on
# Mondays and every shorter period's boundaries are also boundaries of the longer ones.
ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Range:
    name: str
    length: timedelta | None  # None: from the account's first journal entry
    spacing: timedelta


RANGES: dict[str, Range] = {
    r.name: r
    for r in (
        Range("1d", timedelta(days=1), timedelta(minutes=15)),
        Range("1w", timedelta(weeks=1), timedelta(hours=1)),
        Range("1m", timedelta(days=30), timedelta(hours=6)),
        Range("1y", timedelta(days=365), timedelta(days=1)),
        Range("all", None, timedelta(weeks=1)),
    )
}

# The period lengths whose closes are kept: one per range's spacing.
PERIODS: tuple[int, ...] = tuple(sorted({int(r.spacing.total_seconds()) for r in RANGES.values()}))


def _check_aware(moment: datetime, what: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def closes_at(as_of: datetime, period_seconds: int) -> datetime:
    """The end of the period a tick at as_of belongs to. Periods are closed at their end and
    open at their start, (end - period, end], so the rate as of a boundary b is the close of
    the latest period ending at or before b."""
    _check_aware(as_of, "as_of")
    period = timedelta(seconds=period_seconds)
    elapsed = as_of.astimezone(UTC) - ORIGIN
    whole, rest = divmod(elapsed, period)
    return ORIGIN + (whole if not rest else whole + 1) * period


def _floor(moment: datetime, spacing: timedelta) -> datetime:
    return ORIGIN + ((moment.astimezone(UTC) - ORIGIN) // spacing) * spacing


def grid(range_: Range, now: datetime, first_entry: datetime | None = None) -> list[datetime]:
    """The moments a range is drawn at, oldest first: the period boundaries inside it, then
    now itself (unless now is a boundary). A range without a length starts at the boundary at
    or before first_entry (just now when there is none)."""
    _check_aware(now, "now")
    now = now.astimezone(UTC)
    last = _floor(now, range_.spacing)
    if range_.length is not None:
        first = _floor(now - range_.length, range_.spacing)
        if first < now - range_.length:
            first += range_.spacing
    elif first_entry is not None and first_entry <= now:
        first = _floor(first_entry, range_.spacing)
    else:
        first = last if last == now else now
    moments = []
    moment = first
    while moment <= last:
        moments.append(moment)
        moment += range_.spacing
    if not moments or moments[-1] != now:
        moments.append(now)
    return moments


# The largest precision there is, with every rounding trapped: sums and products of finite
# decimals are then exact, or raise.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                         traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


@dataclass(frozen=True, slots=True)
class Step:
    """A value that holds from `at` on (inclusive) until the next step of its series."""

    at: datetime
    value: Decimal


@dataclass(frozen=True, slots=True)
class Point:
    t: datetime
    jpy: Decimal
    complete: bool
    missing: tuple[str, ...]


def net_asset_points(
    moments: Sequence[datetime],
    holdings: Mapping[str, Sequence[Step]],
    rates: Mapping[str, Sequence[Step]],
) -> list[Point]:
    """At each moment (in time order), Σ over currencies of holding × rate, both taken as of
    that moment (the last step at or before it). Series must be in time order; steps at the
    same time count in their order, the last one winning. JPY's rate is 1. A currency held
    (non-zero) without a rate at a moment is left out of that moment's sum, which is then
    incomplete."""
    for moment in moments:
        _check_aware(moment, "moment")
    if any(later < earlier for earlier, later in zip(moments, moments[1:], strict=False)):
        raise ValueError("moments must be in time order")
    for code, steps in [*holdings.items(), *rates.items()]:
        if any(later.at < earlier.at for earlier, later in zip(steps, steps[1:], strict=False)):
            raise ValueError(f"{code}: steps must be in time order")
    totals = [Decimal(0)] * len(moments)
    missing: list[list[str]] = [[] for _ in moments]
    one = (Step(datetime.min.replace(tzinfo=UTC), Decimal(1)),)
    for code, held_steps in holdings.items():
        rate_steps = one if code == JPY else rates.get(code, ())
        # One walk through the moments with a cursor in each series; a product is made again
        # only when the holding or the rate has changed.
        h = r = -1
        product, made_for = None, None
        for position, moment in enumerate(moments):
            while h + 1 < len(held_steps) and held_steps[h + 1].at <= moment:
                h += 1
            while r + 1 < len(rate_steps) and rate_steps[r + 1].at <= moment:
                r += 1
            if h < 0 or held_steps[h].value.is_zero():
                continue
            if r < 0:
                missing[position].append(code)
                continue
            if made_for != (h, r):
                product, made_for = _EXACT.multiply(held_steps[h].value, rate_steps[r].value), (h, r)
            # In the exact context: a rounding would raise, never pass silently.
            totals[position] = _EXACT.add(totals[position], product)
    return [Point(moment, total, not gone, tuple(sorted(gone))) for moment, total, gone in zip(moments, totals, missing, strict=True)]


def holding_total(available: Decimal, in_use: Decimal) -> Decimal:
    """Available + in use, never rounded (balances have more digits than the default context)."""
    return _EXACT.add(available, in_use)


def index_of(values: Iterable[Decimal]) -> list[Decimal | None]:
    """Each value ÷ the first non-zero one × 100, rounded half-up to one decimal; None for
    every value when all are zero."""
    values = list(values)
    base = first_non_zero(values)
    if base is None:
        return [None] * len(values)
    return index_against(values, base)


def first_non_zero(values: Iterable[Decimal]) -> Decimal | None:
    """The base of index_of: the first value that is not zero, or None."""
    return next((value for value in values if not value.is_zero()), None)


def index_against(values: Iterable[Decimal], base: Decimal) -> list[Decimal]:
    """Each value ÷ base × 100, rounded half-up to one decimal (base not zero). Split from
    index_of so the indices of a range's past points can be kept while only now's is made."""
    base_numerator, base_denominator = base.as_integer_ratio()
    result = []
    for value in values:
        numerator, denominator = value.as_integer_ratio()
        # value × 1000 ÷ base, in tenths, as a ratio of integers; rounded half away from zero,
        # as the page's number filter rounds.
        top, bottom = numerator * base_denominator * 1000, denominator * base_numerator
        if bottom < 0:
            top, bottom = -top, -bottom
        tenths = (2 * abs(top) + bottom) // (2 * bottom)
        result.append(Decimal(f"{tenths if top >= 0 else -tenths}E-1"))
    return result
