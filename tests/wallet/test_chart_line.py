"""The history line reuses its past points across rate ticks: whatever now is, the line is
exactly the one drawn from every point afresh."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.chart_geometry import line_points
from dashboard.core.history import Point
from dashboard.wallet import charts
from dashboard.wallet.history import History, PastPoints

START = datetime(2026, 1, 1, tzinfo=UTC)
amounts = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)


def history_of(past_values: list[Decimal], now: Decimal, past: PastPoints | None = None) -> History:
    points = tuple(Point(START + timedelta(days=day), value, True, ()) for day, value in enumerate(past_values))
    past = past or PastPoints(points)
    latest = Point(START + timedelta(days=len(past_values)), now, True, ())
    return History("1y", (*points, latest), (None,) * (len(points) + 1), past)


def _line_of(history: History):
    return charts._line(history, [point.jpy for point in history.points])  # noqa: SLF001 (the unit under test)


def drawn_afresh(values: list[Decimal]) -> tuple[list, str]:
    xy = line_points(values, width=charts.WIDTH, height=charts.HEIGHT)
    return xy, " ".join(f"{x},{y}" for x, y in xy)


@settings(max_examples=300, deadline=None)
@given(past_values=st.lists(amounts, max_size=40), nows=st.lists(amounts, min_size=1, max_size=4))
def test_the_line_is_the_one_drawn_afresh_whatever_now_is(past_values, nows):
    past = None
    for now in nows:  # one past, several ticks: the kept points serve each of them
        history = history_of(past_values, now, past)
        past = history.past
        line = _line_of(history)
        expected_xy, expected_polyline = drawn_afresh([*past_values, now])
        assert line.xy == expected_xy
        assert line.polyline == expected_polyline


def test_a_tick_within_the_past_range_places_only_now():
    past_values = [Decimal(v) for v in ("100", "250", "175", "90.5")]
    history = history_of(past_values, Decimal("120"))
    _line_of(history)
    made = []  # the past's line is kept: asked for again, it is not made again
    history.past.derived(("line", charts.WIDTH, charts.HEIGHT), lambda: made.append(1))
    assert made == []


def test_a_new_high_or_low_draws_the_whole_line_again():
    past_values = [Decimal("100"), Decimal("200")]
    for now in (Decimal("99.99"), Decimal("200.01")):
        line = _line_of(history_of(past_values, now))
        assert line.xy == drawn_afresh([*past_values, now])[0]
        # The past's points moved with the scale: the first is no longer where the kept ones put it.
        assert line.xy[:2] != _line_of(history_of(past_values, Decimal(150))).xy[:2]
