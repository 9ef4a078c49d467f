"""Acquisition cost (取得価額) and realized gains of one crypto-asset, by the total-average method
(総平均法) or the moving-average method (移動平均法), exactly as Japan's National Tax Agency
computes them.

Sources: the Income Tax Act art. 48-2 and its Order arts. 119-2 and 119-3 (the two methods, the
total average being the default when none is chosen); the NTA's 「暗号資産に関する税務上の取扱い
について（FAQ）」 (fees belong to the acquisition cost; a disposal's cost is the units disposed ×
the unit cost; its worked example of a year of BTC); and the NTA's calculation sheets
「暗号資産の計算書（総平均法用／移動平均法用）」 for the rounding:

- total average: unit cost = (the year's opening cost + the cost of the year's acquisitions) ÷
  (the opening units + the units acquired). The unit cost, the cost of sales and the closing
  value are NOT rounded;
- moving average: each acquisition makes a new unit cost = (the value held + the acquisition's
  cost) ÷ (the units held + the units acquired), NOT rounded; after each disposal the value of
  what remains (units left × unit cost) is rounded UP to the yen and the unit cost carried on;
- either way, the year's income = the proceeds rounded DOWN to the yen − the cost of sales
  rounded UP to the yen.

Arithmetic is in fractions.Fraction: a unit cost such as 2,850,000 ÷ 4.5 has no finite decimal,
and "not rounded" means carried exactly, to be rounded only where the sheets round.

Moves of the customer's own units (移入 / 移出, deposits and withdrawals of the crypto-asset) are
neither acquisitions nor disposals: a move out takes units away at the unit cost, with no income;
a move in brings units whose cost the exchange cannot know, so they count at zero cost (the
customer's own records must supply it). The NEM compensation is a disposal (the FAQ's rule).
"""
from __future__ import annotations

import decimal
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

TOTAL_AVERAGE, MOVING_AVERAGE = "total-average", "moving-average"
METHODS = (TOTAL_AVERAGE, MOVING_AVERAGE)
DEFAULT_METHOD = TOTAL_AVERAGE  # the NTA's default (Order art. 119-5)

BUY, SELL, MOVE_IN, MOVE_OUT = "buy", "sell", "in", "out"
KINDS = (BUY, SELL, MOVE_IN, MOVE_OUT)
_ZERO = Fraction(0)
# Quantities are decimals: a difference of two is a decimal of no more places, found exactly.
_EXACT_DIVISION = decimal.Context(prec=200, traps=[decimal.Inexact])


@dataclass(frozen=True)
class Event:
    """One change in the holding, in JPY: a buy's `jpy` is its cost with fees; a sell's, what it
    fetched (after a JPY fee); moves carry no JPY."""

    at: datetime
    kind: str
    quantity: Decimal
    jpy: Decimal = Decimal(0)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.quantity <= 0:
            raise ValueError("an event's quantity must be positive")
        if self.jpy < 0:
            raise ValueError("an event's JPY must not be negative")


@dataclass
class Year:
    """One year of one crypto-asset. Fractions are exact, not yet rounded."""

    year: int
    opening_quantity: Fraction = _ZERO
    opening_cost: Fraction = _ZERO
    bought_quantity: Fraction = _ZERO
    bought_cost: Fraction = _ZERO
    sold_quantity: Fraction = _ZERO
    proceeds: Fraction = _ZERO
    cost_of_sales: Fraction = _ZERO
    moved_in: Fraction = _ZERO
    moved_out: Fraction = _ZERO
    closing_quantity: Fraction = _ZERO
    closing_cost: Fraction = _ZERO
    events: list[Event] = field(default_factory=list, repr=False)

    @property
    def unit_cost(self) -> Fraction | None:
        """The unit cost of what is held at the year's end (None when nothing is)."""
        return self.closing_cost / self.closing_quantity if self.closing_quantity else None

    @property
    def proceeds_jpy(self) -> int:
        return math.floor(self.proceeds)

    @property
    def cost_of_sales_jpy(self) -> int:
        return math.ceil(self.cost_of_sales)

    @property
    def gain_jpy(self) -> int:
        """The year's income: proceeds rounded down − cost of sales rounded up."""
        return self.proceeds_jpy - self.cost_of_sales_jpy


def years(events: Iterable[Event], method: str) -> dict[int, Year]:
    """Every calendar year from the first event's to the last's, each opening where the one
    before closed. Events are taken in time order (stable for equal times). The caller gives
    the year of an event by its `at` (already in the tax's time zone, Japan's)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of: {', '.join(METHODS)}")
    ordered = sorted(events, key=lambda event: event.at)
    if not ordered:
        return {}
    by_year: dict[int, list[Event]] = {}
    for event in ordered:
        by_year.setdefault(event.at.year, []).append(event)
    result: dict[int, Year] = {}
    quantity, cost, unit = _ZERO, _ZERO, _ZERO
    for number in range(ordered[0].at.year, ordered[-1].at.year + 1):
        year = Year(number, opening_quantity=quantity, opening_cost=cost, events=by_year.get(number, []))
        if method == TOTAL_AVERAGE:
            _total_average(year)
        else:
            unit = _moving_average(year, unit)
        result[number] = year
        quantity, cost = year.closing_quantity, year.closing_cost
    return result


def _tally(year: Year) -> None:
    # Sums of decimals are decimals: added as Decimal (exactly, Inexact trapped), which is many
    # times quicker than Fraction, and made fractions once.
    add = _EXACT_DIVISION.add
    sums = {kind: [Decimal(0), Decimal(0)] for kind in KINDS}
    for event in year.events:
        figures = sums[event.kind]
        figures[0] = add(figures[0], event.quantity)
        figures[1] = add(figures[1], event.jpy)
    year.bought_quantity, year.bought_cost = Fraction(sums[BUY][0]), Fraction(sums[BUY][1])
    year.sold_quantity, year.proceeds = Fraction(sums[SELL][0]), Fraction(sums[SELL][1])
    year.moved_in, year.moved_out = Fraction(sums[MOVE_IN][0]), Fraction(sums[MOVE_OUT][0])


def _total_average(year: Year) -> None:
    """One unit cost for the whole year: (opening cost + acquisitions) ÷ (opening units + units
    acquired); units moved in count as acquired at zero cost. Nothing rounded."""
    _tally(year)
    units = year.opening_quantity + year.bought_quantity + year.moved_in
    unit = (year.opening_cost + year.bought_cost) / units if units else _ZERO
    year.closing_quantity = units - year.sold_quantity - year.moved_out
    if year.closing_quantity < 0:
        raise ValueError(f"{year.year}: more units disposed of than held")
    year.cost_of_sales = year.sold_quantity * unit
    # The closing value is the units held × the unit cost, not rounded (so the cost of units
    # moved out simply leaves with them).
    year.closing_cost = year.closing_quantity * unit


def _moving_average(year: Year, unit: Fraction) -> Fraction:
    """A unit cost renewed at each acquisition; after each disposal (or move out) the value of
    what remains is rounded up to the yen, the unit cost carried on — into the next year too
    (it changes only at an acquisition). Returns the unit cost at the year's end."""
    _tally(year)
    quantity, value = year.opening_quantity, year.opening_cost
    for event in year.events:
        amount = Fraction(event.quantity)
        if event.kind in (BUY, MOVE_IN):
            value += Fraction(event.jpy) if event.kind == BUY else _ZERO
            quantity += amount
            unit = value / quantity
            continue
        if amount > quantity:
            raise ValueError(f"{event.at.isoformat()}: more units disposed of than held")
        if event.kind == SELL:
            year.cost_of_sales += amount * unit
        quantity -= amount
        value = Fraction(math.ceil(quantity * unit))
    year.closing_quantity, year.closing_cost = quantity, value
    return unit


def to_decimal(value: Fraction, places: int) -> Decimal:
    """A fraction as a Decimal of `places` places, rounded half up (half away from zero, as
    decimal.ROUND_HALF_UP), for display only."""
    if value < 0:
        return -to_decimal(-value, places)
    whole = math.floor(value * 10**places + Fraction(1, 2))
    return Decimal(whole).scaleb(-places)


def as_decimal(value: Fraction) -> Decimal:
    """A fraction whose denominator divides a power of ten (a sum of decimal quantities) as the
    exact Decimal; Inexact is raised for any other."""
    return _EXACT_DIVISION.divide(Decimal(value.numerator), Decimal(value.denominator))


def ceil_yen(value: Fraction) -> Decimal:
    """A cost rounded up to the yen, as the calculation sheets round costs."""
    return Decimal(math.ceil(value))


def cover_shortfalls(events: list[Event]) -> list[Event]:
    """The events (in time order) with a move in added just before each disposal or move out of
    more units than the events so far brought: units the exchange knows no acquisition of (a
    balance set by an import, say) enter at no known cost, as a transfer in does."""
    held, result = Decimal(0), []
    add, subtract = _EXACT_DIVISION.add, _EXACT_DIVISION.subtract
    for event in events:
        quantity = event.quantity
        if event.kind in (SELL, MOVE_OUT) and quantity > held:
            result.append(Event(event.at, MOVE_IN, subtract(quantity, held)))
            held = quantity
        held = add(held, quantity) if event.kind in (BUY, MOVE_IN) else subtract(held, quantity)
        result.append(event)
    return result
