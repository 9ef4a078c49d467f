"""The NTA's methods of acquisition cost: its worked example to the yen, hand-computed cases of
the rounding, and random years checked against a brute-force replay."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.cost_basis import (
    BUY,
    MOVE_IN,
    MOVE_OUT,
    MOVING_AVERAGE,
    SELL,
    TOTAL_AVERAGE,
    Event,
    years,
)


def at(month: int, day: int, year: int = 2017) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


# The NTA's worked example (国税庁「暗号資産に関する税務上の取扱いについて（FAQ）」, the question on
# the acquisition cost of a crypto-asset bought more than once; first published in 2017 as
# 「仮想通貨に関する所得の計算方法等について」). One year of BTC, fees included in every figure:
#   3/9   buys 4 BTC for 2,000,000 yen
#   5/20  sells 0.2 BTC for 110,000 yen
#   9/28  pays 0.3 BTC for goods worth 155,000 yen   (a disposal at the goods' value)
#   11/2  pays 1 BTC for another crypto-asset worth 600,000 yen (a disposal likewise)
#   11/30 buys 2 BTC for 1,600,000 yen
NTA_YEAR = [
    Event(at(3, 9), BUY, D("4"), D("2000000")),
    Event(at(5, 20), SELL, D("0.2"), D("110000")),
    Event(at(9, 28), SELL, D("0.3"), D("155000")),
    Event(at(11, 2), SELL, D("1"), D("600000")),
    Event(at(11, 30), BUY, D("2"), D("1600000")),
]


def test_nta_example_by_the_total_average_method():
    # The FAQ: (2,000,000 + 1,600,000) ÷ (4 + 2) = 600,000 yen per BTC for the whole year.
    year = years(NTA_YEAR, TOTAL_AVERAGE)[2017]
    assert year.unit_cost == 600_000
    # Sales: 1.5 BTC × 600,000 = 900,000 against 110,000 + 155,000 + 600,000 = 865,000.
    assert (year.sold_quantity, year.proceeds_jpy, year.cost_of_sales_jpy) == (Fraction(3, 2), 865_000, 900_000)
    assert year.gain_jpy == -35_000
    assert (year.closing_quantity, year.closing_cost) == (Fraction(9, 2), 2_700_000)


def test_nta_example_by_the_moving_average_method():
    # The FAQ: 2,000,000 ÷ 4 = 500,000 yen per BTC from 3/9; before the 11/30 purchase
    # 500,000 × (4 − 1.5) = 1,250,000 yen held; after it (1,250,000 + 1,600,000) ÷ (2.5 + 2)
    # = 633,333.33… yen per BTC (the 2017 text shows it rounded up, 633,334; the calculation
    # sheet carries it unrounded, as here).
    year = years(NTA_YEAR, MOVING_AVERAGE)[2017]
    assert year.unit_cost == Fraction(2_850_000) / Fraction(9, 2)
    assert math.ceil(year.unit_cost) == 633_334
    # Each disposal at 500,000: 100,000 + 150,000 + 500,000 = 750,000 against 865,000.
    assert year.cost_of_sales_jpy == 750_000
    assert year.gain_jpy == 115_000
    assert (year.closing_quantity, year.closing_cost) == (Fraction(9, 2), 2_850_000)


def test_moving_average_rounds_the_remaining_value_up_after_each_sale():
    # Computed by hand:
    #   buy 3 for 1,000,000        → unit 333,333.33…
    #   sell 1 for 400,000         → cost 333,333.33…; remaining 2 × 333,333.33… = 666,666.66… → 666,667
    #   buy 1 for 300,000          → unit (666,667 + 300,000) ÷ 3 = 322,222.33…
    #   sell 3 for 1,000,000.5     → cost 966,667 (3 × 322,222.33…, exactly); remaining 0
    #   cost of sales 1,300,000.33… → rounded up 1,300,001; proceeds 1,400,000.5 → down 1,400,000
    #   income 1,400,000 − 1,300,001 = 99,999
    events = [
        Event(at(1, 1), BUY, D("3"), D("1000000")),
        Event(at(2, 1), SELL, D("1"), D("400000")),
        Event(at(3, 1), BUY, D("1"), D("300000")),
        Event(at(4, 1), SELL, D("3"), D("1000000.5")),
    ]
    year = years(events, MOVING_AVERAGE)[2017]
    assert year.cost_of_sales == Fraction(1_000_000, 3) + 966_667
    assert (year.proceeds_jpy, year.cost_of_sales_jpy, year.gain_jpy) == (1_400_000, 1_300_001, 99_999)
    assert year.closing_cost == 0
    # The same year by the total average: (1,000,000 + 300,000) ÷ 4 = 325,000 for each of the 4
    # units sold: 1,300,000; income 1,400,000 − 1,300,000 = 100,000.
    assert years(events, TOTAL_AVERAGE)[2017].gain_jpy == 100_000


def test_total_average_carries_the_closing_value_into_the_next_year_unrounded():
    # 2017: buy 3 for 1,000,000 → unit 333,333.33…; sell 1 → 2 left worth 666,666.66… (not rounded).
    # 2018: buy 1 for 333,334 → unit (666,666.66… + 333,334) ÷ 3 = 333,333.55…; sell 3 for 1,200,000
    #       → cost 1,000,000.66… → 1,000,001 rounded up; income 1,200,000 − 1,000,001 = 199,999.
    events = [
        Event(at(1, 1, 2017), BUY, D("3"), D("1000000")),
        Event(at(6, 1, 2017), SELL, D("1"), D("350000")),
        Event(at(1, 5, 2018), BUY, D("1"), D("333334")),
        Event(at(2, 1, 2018), SELL, D("3"), D("1200000")),
    ]
    result = years(events, TOTAL_AVERAGE)
    assert result[2018].opening_cost == Fraction(2_000_000, 3)
    assert result[2018].cost_of_sales_jpy == 1_000_001
    assert result[2018].gain_jpy == 199_999


def test_moves_are_neither_acquisitions_nor_disposals():
    events = [
        Event(at(1, 1), BUY, D("2"), D("200")),
        Event(at(2, 1), MOVE_OUT, D("1")),
        Event(at(3, 1), MOVE_IN, D("2")),
        Event(at(4, 1), SELL, D("1"), D("500")),
    ]
    moving = years(events, MOVING_AVERAGE)[2017]
    # 1 left worth 100 after the move out; 2 more at no known cost: unit 100 ÷ 3; the sale costs 33.33… → 34.
    assert (moving.moved_out, moving.moved_in, moving.cost_of_sales_jpy, moving.gain_jpy) == (1, 2, 34, 466)
    total = years(events, TOTAL_AVERAGE)[2017]
    # 200 ÷ (2 + 2) = 50 a unit; the sale costs 50.
    assert total.gain_jpy == 450


def test_empty_years_in_between_carry_the_holding():
    result = years([Event(at(1, 1, 2016), BUY, D("1"), D("10")), Event(at(1, 1, 2018), SELL, D("1"), D("30"))], TOTAL_AVERAGE)
    assert sorted(result) == [2016, 2017, 2018]
    assert (result[2017].opening_quantity, result[2017].closing_cost, result[2018].gain_jpy) == (1, 10, 20)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        years([], "fifo")
    with pytest.raises(ValueError, match="positive"):
        Event(at(1, 1), BUY, D("0"), D("1"))
    with pytest.raises(ValueError, match="more units"):
        years([Event(at(1, 1), SELL, D("1"), D("1"))], MOVING_AVERAGE)
    with pytest.raises(ValueError, match="more units"):
        years([Event(at(1, 1), SELL, D("1"), D("1"))], TOTAL_AVERAGE)


# Brute force: each method replayed the slow way, event by event with whole-year recomputation,
# in its own words, to check the fast code on random years.


def brute_total_average(events: list[Event]) -> dict[int, tuple[int, Fraction, Fraction]]:
    """year → (income, closing units, closing value)."""
    result, held_units, held_value = {}, Fraction(0), Fraction(0)
    for year in range(events[0].at.year, events[-1].at.year + 1):
        inside = [event for event in events if event.at.year == year]
        acquired_units = sum((Fraction(e.quantity) for e in inside if e.kind in (BUY, MOVE_IN)), Fraction(0))
        acquired_cost = sum((Fraction(e.jpy) for e in inside if e.kind == BUY), Fraction(0))
        unit = (held_value + acquired_cost) / (held_units + acquired_units) if held_units + acquired_units else Fraction(0)
        proceeds = sum((Fraction(e.jpy) for e in inside if e.kind == SELL), Fraction(0))
        sold = sum((Fraction(e.quantity) for e in inside if e.kind == SELL), Fraction(0))
        gone = sum((Fraction(e.quantity) for e in inside if e.kind in (SELL, MOVE_OUT)), Fraction(0))
        income = math.floor(proceeds) - math.ceil(sold * unit)
        held_units = held_units + acquired_units - gone
        held_value = held_units * unit
        result[year] = (income, held_units, held_value)
    return result


def brute_moving_average(events: list[Event]) -> dict[int, tuple[int, Fraction, Fraction]]:
    result = {}
    units, value, unit = Fraction(0), Fraction(0), Fraction(0)
    for year in range(events[0].at.year, events[-1].at.year + 1):
        proceeds, costs = Fraction(0), Fraction(0)
        for event in (e for e in events if e.at.year == year):
            q = Fraction(event.quantity)
            if event.kind in (BUY, MOVE_IN):
                units, value = units + q, value + (Fraction(event.jpy) if event.kind == BUY else 0)
                unit = value / units
            else:
                if event.kind == SELL:
                    proceeds += Fraction(event.jpy)
                    costs += q * unit
                units -= q
                value = Fraction(-((-units * unit).numerator // (-units * unit).denominator))  # ceiling
        result[year] = (math.floor(proceeds) - math.ceil(costs), units, value)
    return result


@st.composite
def random_years(draw):
    """Random events of a few years that never take away more units than are held."""
    count = draw(st.integers(1, 15))
    moment = datetime(2016, 1, 1, tzinfo=UTC)
    held, events = D(0), []
    for _ in range(count):
        moment += timedelta(days=draw(st.integers(0, 200)))
        kinds = [BUY, MOVE_IN] + ([SELL, MOVE_OUT] if held > 0 else [])
        kind = draw(st.sampled_from(kinds))
        if kind in (BUY, MOVE_IN):
            quantity = D(draw(st.integers(1, 10**9))).scaleb(-8)
        else:
            quantity = D(draw(st.integers(1, int(held.scaleb(8))))).scaleb(-8)
        jpy = D(draw(st.integers(0, 10**10))).scaleb(-draw(st.integers(0, 2))) if kind in (BUY, SELL) else D(0)
        held += quantity if kind in (BUY, MOVE_IN) else -quantity
        events.append(Event(moment, kind, quantity, jpy))
    return events


@settings(max_examples=100, deadline=None)
@given(random_years())
def test_total_average_agrees_with_brute_force(events):
    fast = years(events, TOTAL_AVERAGE)
    for year, (income, units, value) in brute_total_average(events).items():
        assert (fast[year].gain_jpy, fast[year].closing_quantity, fast[year].closing_cost) == (income, units, value)
        # Nothing lost or made: the opening and the year's acquisitions are what was sold, moved out or kept.
        y = fast[year]
        units_had = y.opening_quantity + y.bought_quantity + y.moved_in
        if units_had:
            unit = (y.opening_cost + y.bought_cost) / units_had
            assert y.opening_cost + y.bought_cost == y.cost_of_sales + y.moved_out * unit + y.closing_cost


@settings(max_examples=100, deadline=None)
@given(random_years())
def test_moving_average_agrees_with_brute_force(events):
    fast = years(events, MOVING_AVERAGE)
    for year, (income, units, value) in brute_moving_average(events).items():
        assert (fast[year].gain_jpy, fast[year].closing_quantity, fast[year].closing_cost) == (income, units, value)


def test_units_of_unknown_acquisition_enter_at_no_cost_before_they_are_disposed_of():
    from dashboard.core.cost_basis import cover_shortfalls

    events = cover_shortfalls([Event(at(1, 1), BUY, D("1"), D("100")), Event(at(2, 1), SELL, D("3"), D("600"))])
    assert [(e.kind, e.quantity) for e in events] == [(BUY, D("1")), (MOVE_IN, D("2")), (SELL, D("3"))]
    # 100 yen for 3 units: all sold for 600, income 500, by either method.
    assert years(events, MOVING_AVERAGE)[2017].gain_jpy == years(events, TOTAL_AVERAGE)[2017].gain_jpy == 500
