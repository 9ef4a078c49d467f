"""The pure net-asset history: period closes, the grid, the sum at each moment and the index,
each against a brute-force reading of the same inputs."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.chart_geometry import allocation, line_points, sample_indices
from dashboard.core.history import PERIODS, RANGES, Step, closes_at, grid, holding_total, index_of, net_asset_points

START = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=400 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
amounts = st.decimals(min_value=0, max_value=10**12, places=8, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=Decimal("0.000001"), max_value=10**7, places=6, allow_nan=False, allow_infinity=False)
codes = st.sampled_from(["jpy", "btc", "xem", "eth"])


@given(moments, st.sampled_from(PERIODS))
def test_a_tick_closes_the_period_that_ends_at_or_after_it(moment, period):
    end = closes_at(moment, period)
    assert end - timedelta(seconds=period) < moment <= end
    assert closes_at(end, period) == end


def test_a_tick_exactly_on_a_boundary_closes_that_boundary():
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    assert closes_at(midnight, 86400) == midnight
    assert closes_at(midnight + timedelta(microseconds=1), 86400) == midnight + timedelta(days=1)


def test_weekly_closes_fall_on_mondays():
    assert closes_at(datetime(2026, 3, 4, 12, tzinfo=UTC), 7 * 86400).weekday() == 0


@pytest.mark.parametrize("name, count", [("1d", 96), ("1w", 168), ("1m", 120), ("1y", 365)])
def test_grid_spacing_and_last_point_now(name, count):
    now = datetime(2026, 11, 24, 3, 7, 11, tzinfo=UTC)
    points = grid(RANGES[name], now)
    assert points[-1] == now
    spacing = RANGES[name].spacing
    assert all(b - a == spacing for a, b in zip(points[:-2], points[1:-1], strict=False))
    assert now - points[-2] < spacing
    assert count <= len(points) - 1 <= count + 1
    assert points[0] >= now - RANGES[name].length


def test_grid_all_starts_at_the_week_of_the_first_entry():
    now = datetime(2026, 11, 24, 3, 7, tzinfo=UTC)
    points = grid(RANGES["all"], now, now - timedelta(days=20))
    assert points[0] <= now - timedelta(days=20) < points[0] + timedelta(weeks=1)
    assert grid(RANGES["all"], now, None) == [now]


def test_grid_refuses_a_naive_now():
    with pytest.raises(ValueError):
        grid(RANGES["1d"], datetime(2026, 1, 1))


def series(draw_moments, values):
    return [Step(at, value) for at, value in sorted(zip(draw_moments, values, strict=False), key=lambda step: step[0])]


@st.composite
def histories(draw):
    holdings, rate_series = {}, {}
    for code in draw(st.sets(codes, min_size=1)):
        n = draw(st.integers(0, 6))
        holdings[code] = series(draw(st.lists(moments, min_size=n, max_size=n)), draw(st.lists(amounts, min_size=n, max_size=n)))
        if code != "jpy" and draw(st.booleans()):
            m = draw(st.integers(1, 6))
            rate_series[code] = series(draw(st.lists(moments, min_size=m, max_size=m)), draw(st.lists(rates, min_size=m, max_size=m)))
    at = sorted(draw(st.lists(moments, min_size=1, max_size=12)))
    return holdings, rate_series, at


def brute_as_of(steps, moment):
    value = None
    for step in steps:  # in order: the last at or before wins
        if step.at <= moment:
            value = step.value
    return value


@settings(max_examples=200)
@given(histories())
def test_net_assets_equal_a_brute_force_sum(case):
    holdings, rate_series, at = case
    points = net_asset_points(at, holdings, rate_series)
    for moment, point in zip(at, points, strict=True):
        total, missing = Fraction(0), set()
        for code, steps in holdings.items():
            held = brute_as_of(steps, moment)
            if not held:
                continue
            rate = Decimal(1) if code == "jpy" else brute_as_of(rate_series.get(code, []), moment)
            if rate is None:
                missing.add(code)
            else:
                total += Fraction(held) * Fraction(rate)
        assert Fraction(point.jpy) == total
        assert point.complete == (not missing) and set(point.missing) == missing


def test_net_assets_refuse_series_out_of_order():
    with pytest.raises(ValueError):
        net_asset_points([START], {"jpy": [Step(START + timedelta(1), Decimal(1)), Step(START, Decimal(2))]}, {})


def test_sum_keeps_every_digit():
    held = Decimal("1234567890123456789012.123456789012345678")
    [point] = net_asset_points([START], {"btc": [Step(START, held)]}, {"btc": [Step(START, Decimal("3.000000000000000001"))]})
    rate = Decimal("3.000000000000000001")
    assert Fraction(point.jpy) == Fraction(held) * Fraction(rate)
    assert len(point.jpy.as_tuple().digits) > 28  # more than the default context would keep
    assert holding_total(held, held) == Decimal("2469135780246913578024.246913578024691356")


@given(st.lists(amounts, min_size=1, max_size=20))
def test_index_is_half_up_to_one_decimal_of_the_first_non_zero(values):
    result = index_of(values)
    base = next((value for value in values if value), None)
    if base is None:
        assert result == [None] * len(values)
        return
    for value, index in zip(values, result, strict=True):
        exact = Fraction(value) * 100 / Fraction(base)
        assert abs(Fraction(index) - exact) <= Fraction(1, 20)
        tenths = Fraction(index) * 10
        assert tenths.denominator == 1
        assert exact * 10 - tenths < Fraction(1, 2) and tenths - exact * 10 <= Fraction(1, 2)


def test_index_rounds_half_up():
    assert index_of([Decimal(2000), Decimal("2001")]) == [Decimal("100.0"), Decimal("100.1")]  # 100.05 → 100.1
    assert index_of([Decimal(0), Decimal(3), Decimal("3.15")])[2] == Decimal("105.0")


@given(st.lists(st.tuples(st.text("abcdef", min_size=1, max_size=3), amounts), max_size=15, unique_by=lambda item: item[0]))
def test_allocation_slices_fill_the_bar_edge_to_edge(values):
    slices = allocation(values)
    positive = [value for _code, value in values if value > 0]
    if not positive:
        assert slices == []
        return
    assert slices[0].x == 0 and slices[-1].x + slices[-1].width == 100
    for before, after in zip(slices, slices[1:], strict=False):
        assert before.x + before.width == after.x
    assert sum(Fraction(piece.jpy) for piece in slices) == sum(Fraction(value) for value in positive)


def _allocation_in_fractions(values, *, small=Decimal(2)):
    """allocation as first written, in Fractions: the reference of the integer one."""
    from dashboard.core.chart_geometry import OTHER, Slice, _decimal, _exact

    positive = [(code, value) for code, value in values if value > 0]
    whole = sum((Fraction(value) for _code, value in positive), Fraction(0))
    if not whole:
        return []
    positive.sort(key=lambda item: (-item[1], item[0]))
    large = [(code, Fraction(value)) for code, value in positive if Fraction(value) * 100 / whole >= small]
    tiny = [(code, Fraction(value)) for code, value in positive if Fraction(value) * 100 / whole < small]
    groups = [(code, value, ()) for code, value in large]
    if len(tiny) == 1:
        groups.append((tiny[0][0], tiny[0][1], ()))
    elif tiny:
        groups.append((OTHER, sum((value for _c, value in tiny), Fraction(0)), tuple(code for code, _v in tiny)))
    slices, done = [], Fraction(0)
    for code, value, members in groups:
        start = _decimal(done * 100 / whole, Decimal("0.01"))
        done += value
        end = _decimal(done * 100 / whole, Decimal("0.01"))
        slices.append(Slice(code, _exact(value), _decimal(value * 100 / whole, Decimal("0.1")), start, end - start, members))
    return slices


# Values of any scale: 8 places, 18 places (a token's smallest unit), and whole thousands.
any_scale = st.one_of(amounts, st.decimals(min_value=0, max_value=10**6, places=18, allow_nan=False, allow_infinity=False),
                      st.integers(min_value=0, max_value=10**9).map(lambda whole: Decimal(whole).scaleb(3)))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.text("abcdef", min_size=1, max_size=3), any_scale), max_size=15, unique_by=lambda item: item[0]),
       st.sampled_from([Decimal(2), Decimal("0.5"), Decimal("12.5"), Decimal(0)]))
def test_allocation_in_integers_is_the_fraction_one(values, small):
    made, reference = allocation(values, small=small), _allocation_in_fractions(values, small=small)
    assert made == reference
    assert [(str(piece.jpy), str(piece.percent), str(piece.x), str(piece.width)) for piece in made] == \
        [(str(piece.jpy), str(piece.percent), str(piece.x), str(piece.width)) for piece in reference]


def test_small_shares_are_grouped():
    slices = allocation([("a", Decimal(970)), ("b", Decimal(10)), ("c", Decimal(15)), ("d", Decimal(5))])
    assert [(piece.currency, piece.members, str(piece.percent)) for piece in slices] == [("a", (), "97.0"), ("other", ("c", "b", "d"), "3.0")]


def test_line_points_put_the_lowest_at_the_bottom():
    points = line_points([Decimal(1), Decimal(3), Decimal(2)], width=600, height=200)
    assert points == [(Decimal("0.00"), Decimal("196.00")), (Decimal("300.00"), Decimal("4.00")), (Decimal("600.00"), Decimal("100.00"))]
    assert sample_indices(366, 13)[0] == 0 and sample_indices(366, 13)[-1] == 365 and len(sample_indices(366, 13)) == 13


def _line_points_in_fractions(values, *, width, height, margin=4):
    """line_points as first written, a Fraction per point: the reference of the integer one."""
    low, high = min(values), max(values)
    span = Fraction(high) - Fraction(low)
    inner = height - 2 * margin

    def hundredths(value: Fraction) -> Decimal:
        scaled = value * 100
        return Decimal((scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)) / 100

    points = []
    for position, value in enumerate(values):
        x = Fraction(width * position, max(len(values) - 1, 1))
        y = margin + inner - (Fraction(value) - Fraction(low)) * inner / span if span else Fraction(height, 2)
        points.append((hundredths(x), hundredths(y)))
    return points


@settings(max_examples=300)
@given(st.lists(st.one_of(*(st.decimals(min_value=0, max_value=10**12, places=places, allow_nan=False, allow_infinity=False)
                            for places in (0, 2, 8, 36))), min_size=1, max_size=40),
       st.integers(1, 2000), st.integers(10, 800))
def test_line_points_equal_the_fraction_reference(values, width, height):
    points = line_points(values, width=width, height=height)
    assert points == _line_points_in_fractions(values, width=width, height=height)
    assert all(str(x) == f"{x:.2f}" and str(y) == f"{y:.2f}" for x, y in points)  # two places, as drawn


@given(st.integers(-10**40, 10**40), st.integers(0, 40), st.integers(0, 40))
def test_an_allocations_exact_yen_is_its_fraction_in_the_fewest_places(numerator, twos, fives):
    from dashboard.core.chart_geometry import _exact

    value = Fraction(numerator, 2**twos * 5**fives)
    made = _exact(value)
    assert Fraction(made) == value
    places = -made.as_tuple().exponent
    assert places >= 0
    if places:  # one place fewer would not hold it
        assert (value * 10 ** (places - 1)).denominator != 1


@pytest.mark.parametrize("value", [Fraction(1, 3), Fraction(7, 30), Fraction(-1, 2**5 * 7)])
def test_an_exact_yen_that_is_no_finite_decimal_is_refused(value):
    from dashboard.core.chart_geometry import _exact

    with pytest.raises(ValueError):
        _exact(value)
