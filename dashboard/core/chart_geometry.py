"""The geometry of the wallet's two charts, in exact decimals: the allocation bar (share of net
assets by currency, small shares grouped) and the net-asset line, scaled to an SVG viewBox."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = ["Slice", "allocation", "line_points", "share_percent", "sample_indices", "OTHER"]

OTHER = "other"
_HUNDREDTH = Decimal("0.01")
_TENTH = Decimal("0.1")


def _decimal(value: Fraction, step: Decimal) -> Decimal:
    """value rounded half-up to step, exactly (the Fraction never passes through a float)."""
    scaled = value / Fraction(step)
    whole = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    return (Decimal(whole) * step).quantize(step, rounding=ROUND_HALF_UP)


def share_percent(part: Decimal, whole: Decimal) -> Decimal:
    """part as a percentage of whole, half-up to one decimal."""
    return _decimal(Fraction(part) * 100 / Fraction(whole), _TENTH)


@dataclass(frozen=True, slots=True)
class Slice:
    currency: str  # a currency code, or OTHER for the grouped small shares
    jpy: Decimal
    percent: Decimal  # one decimal
    x: Decimal  # start and width on a 0–100 axis, two decimals, slices edge to edge
    width: Decimal
    members: tuple[str, ...] = ()


def allocation(values: Sequence[tuple[str, Decimal]], *, small: Decimal = Decimal(2)) -> list[Slice]:
    """Slices of the positive values, largest first; those under `small` per cent are grouped
    into one OTHER slice at the end (kept alone when only one is that small)."""
    # In integers: every value a whole number of one common unit (the least common denominator
    # of their exact ratios). The bar is drawn again whenever a rate moves, and a Fraction per
    # comparison and division was a tenth of that page's rendering.
    ratios = [(code, value.as_integer_ratio()) for code, value in values if value > 0]
    if not ratios:
        return []
    unit = math.lcm(*(denominator for _code, (_n, denominator) in ratios))
    counts = [(code, numerator * (unit // denominator)) for code, (numerator, denominator) in ratios]
    whole = sum(count for _code, count in counts)
    counts.sort(key=lambda item: (-item[1], item[0]))
    small_n, small_d = small.as_integer_ratio()
    large = [(code, count) for code, count in counts if count * 100 * small_d >= small_n * whole]
    tiny = [(code, count) for code, count in counts if count * 100 * small_d < small_n * whole]
    groups: list[tuple[str, int, tuple[str, ...]]] = [(code, count, ()) for code, count in large]
    if len(tiny) == 1:
        groups.append((tiny[0][0], tiny[0][1], ()))
    elif tiny:
        groups.append((OTHER, sum(count for _c, count in tiny), tuple(code for code, _c in tiny)))
    slices, done = [], 0
    for code, count, members in groups:
        start = _hundredths(done * 10_000, whole)
        done += count
        end = _hundredths(done * 10_000, whole)
        percent = _half_up(count * 1000, whole, 1)
        slices.append(Slice(code, _exact(Fraction(count, unit)), percent, start, end - start, members))
    return slices


def _exact(value: Fraction) -> Decimal:
    """A Fraction made of decimals back as the exact Decimal it is, in the fewest places.

    A Fraction is in lowest terms, so n / (2^a × 5^b) needs max(a, b) places and no fewer; any
    other factor in the denominator is no finite decimal."""
    numerator, denominator = value.numerator, value.denominator
    twos = (denominator & -denominator).bit_length() - 1
    rest, fives = denominator >> twos, 0
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        raise ValueError("not a finite decimal")
    places = max(twos, fives)
    numerator *= 10 ** places // denominator
    return Decimal(f"{numerator}E-{places}") if places else Decimal(numerator)


def line_points(values: Sequence[Decimal], *, width: int, height: int, margin: int = 4) -> list[tuple[Decimal, Decimal]]:
    """(x, y) of each value on a width × height viewBox (y grows downwards), evenly spaced,
    the lowest value at the bottom and the highest at the top, two decimals (half up)."""
    if not values:
        return []
    # In integers, hundredths of the viewBox: a year is 366 points made again whenever the
    # page's figures change, and a Fraction per point was a third of that page's rendering.
    # Each value is n / d (Decimal.as_integer_ratio, exact); low = a / b and span = c / e.
    ratios = [value.as_integer_ratio() for value in values]
    (a, b), (high_n, high_d) = min(values).as_integer_ratio(), max(values).as_integer_ratio()
    c, e = high_n * b - a * high_d, high_d * b  # span = high - low, c >= 0
    inner = height - 2 * margin
    steps = max(len(values) - 1, 1)
    points = []
    for position, (n, d) in enumerate(ratios):
        x = _hundredths(100 * width * position, steps)
        if c:
            # y = margin + inner - (n/d - a/b) × inner ÷ (c/e), in hundredths, as one fraction
            # top/bottom with bottom > 0 and top >= 0 (the value lies between low and high).
            bottom = d * b * c
            top = 100 * (margin + inner) * bottom - 100 * inner * (n * b - a * d) * e
            y = _hundredths(top, bottom)
        else:
            y = _hundredths(100 * height, 2)
        points.append((x, y))
    return points


def _hundredths(top: int, bottom: int) -> Decimal:
    """top / bottom hundredths (both positive, or top 0), rounded half up, as a two-place Decimal."""
    return _half_up(top, bottom, 2)


def _half_up(top: int, bottom: int, places: int) -> Decimal:
    """top / bottom units of the `places`-th decimal (both positive, or top 0), rounded half up."""
    return Decimal((2 * top + bottom) // (2 * bottom)).scaleb(-places)


def sample_indices(count: int, most: int) -> list[int]:
    """At most `most` positions out of count, evenly spread, always the first and the last."""
    if count <= most:
        return list(range(count))
    chosen = {round(Fraction(position * (count - 1), most - 1)) for position in range(most)}
    return sorted(chosen)
