"""The wallet page drawn once per shape, and each new set of figures only written into it.

A rate tick changes every figure on the wallet page and, nearly always, nothing else: not which
rows there are, nor which notices show, nor which cells say "—". Rendering the templates again
for every tick was two thirds of what a tick cost the page (bench.tick_cost, pyinstrument). So
the page is rendered once per *shape*, with a hole in place of each figure, and a new set of
figures fills the holes.

An input's shape is everything about it but its figures: the structure (dictionary keys, list
lengths), every None, boolean and falsy value as it is, and the values named `kept` (currency
codes, range names: what the templates compare and loop over). Every other value (text,
Decimal, int) is a figure. While the shape is rendered a figure is a Hole, which writes itself
out as a marker and refuses any other use: a template that tests, measures, compares or filters
a figure fails loudly (UnshapedUse) rather than drawing one set of figures' page for another.
(Jinja's type tests, `is string` and the like, cannot be refused: a template should not need
them on a figure; tests/wallet/test_page_shapes.py compares the page with a fresh render in
every state it has, which would show one.) Filling escapes each value exactly as Jinja's
autoescape does, so the page is, byte for byte, what rendering afresh gives.
"""
from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from cachetools import LRUCache
from markupsafe import escape

# Random per process: no text that reaches the page can be taken for a hole. The "<" is what any
# escaping would change (JSON's included), so a hole written out other than as HTML text is
# caught (Shape.of) rather than filled.
_TOKEN = secrets.token_hex(12)
_MARKER = f"<page-hole-{_TOKEN}-"
_HOLE_AT = re.compile(re.escape(_MARKER) + r"(\d+)>")
# What markupsafe.escape changes: a figure without any (nearly all: digits, separators, words)
# is written as it is, without building a Markup of it.
_ESCAPED = re.compile(r"[&<>'\"]").search


class UnshapedUse(RuntimeError):
    """A template used a figure as more than text: its shape would not name what the page shows."""


class Hole:
    """Stands in for one figure while the page's shape is rendered: written out, it is a marker."""

    __slots__ = ("_marker",)

    def __init__(self, index: int):
        self._marker = f"{_MARKER}{index}>"

    def __html__(self) -> str:
        return self._marker

    def __bool__(self) -> bool:
        return True  # only truthy values become holes; falsy ones are part of the shape

    def _refuse(self, *args, **kwargs):
        raise UnshapedUse("the wallet page used a figure as more than text: make it part of the shape (page_shapes.py)")

    __str__ = __repr__ = __format__ = __len__ = __iter__ = __contains__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _refuse  # type: ignore[assignment]
    __add__ = __radd__ = __mul__ = __mod__ = __rmod__ = __int__ = __float__ = __index__ = _refuse
    __getattr__ = __getitem__ = _refuse


_HOLE = object()  # in a shape: a figure went here


def shape_of(value, kept: frozenset[str]) -> tuple[tuple, tuple]:
    """value's shape (hashable) and its figures, in the order take_out_figures numbers its holes.

    Asked on every new set of figures, so one flat pass: each dictionary and list leaves a
    header, each key itself, each figure a mark, anything else its repr — a token sequence that
    reads back one way only."""
    shape: list = []
    figures: list = []
    token, figure = shape.append, figures.append

    def walk(item, name):
        if name in kept:
            token(repr(item))
        elif type(item) is dict:
            token(("{", len(item)))
            for key, inner in item.items():
                token(key)
                walk(inner, key)
        elif type(item) is list or type(item) is tuple:
            token(("[", len(item), type(item) is tuple))
            for inner in item:
                walk(inner, None)
        elif item is None or item is True or item is False or not item:
            # repr, not the value: Decimal("0") and Decimal("0.00") are equal, yet written differently.
            token(repr(item))
        elif isinstance(item, (str, Decimal, int)):
            token(_HOLE)
            figure(item)
        else:
            raise TypeError(f"the wallet page's shape cannot hold a {type(item).__name__}: make it text first")

    walk(value, None)
    return tuple(shape), tuple(figures)


def take_out_figures(value, kept: frozenset[str]):
    """value with a Hole in place of each figure, numbered as shape_of lists them."""
    count = 0

    def walk(item, name):
        nonlocal count
        if name in kept:
            return item
        if type(item) is dict:
            return {key: walk(inner, key) for key, inner in item.items()}
        if type(item) is list or type(item) is tuple:
            holed = [walk(inner, None) for inner in item]
            return holed if type(item) is list else tuple(holed)
        if item is None or item is True or item is False or not item:
            return item
        count += 1
        return Hole(count - 1)

    return walk(value, None)


@dataclass(frozen=True)
class Shape:
    """A rendered page split at its holes: text, then (hole, text) pairs."""

    head: str
    rest: tuple[tuple[int, str], ...]

    @classmethod
    def of(cls, html: str) -> Shape:
        pieces = _HOLE_AT.split(html)
        texts = pieces[0::2]
        # A hole changed on its way out (a filter on captured text, JSON) would leave its token.
        if any(_TOKEN in text.lower() for text in texts):
            raise UnshapedUse("the wallet page changed a figure's text on its way out: make it part of the shape (page_shapes.py)")
        return cls(pieces[0], tuple((int(pieces[i]), pieces[i + 1]) for i in range(1, len(pieces), 2)))

    def filled(self, figures: tuple) -> str:
        out = [self.head]
        for index, text in self.rest:
            figure = figures[index]
            out.append(figure if type(figure) is str and not _ESCAPED(figure) else escape(figure))
            out.append(text)
        return "".join(out)


class Shapes:
    """Rendered shapes kept per process, bounded: the same shape serves every tick of a wallet, and
    every wallet alike."""

    def __init__(self, size: int):
        self._kept: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def page(self, key: tuple, inputs, kept: frozenset[str], render: Callable[[object], str]) -> str:
        """The page of these inputs: render(inputs with holes) once per key and shape, then filled."""
        shape_key, figures = shape_of(inputs, kept)
        full_key = (key, shape_key)
        with self._lock:
            shape = self._kept.get(full_key)
        if shape is None:
            shape = Shape.of(render(take_out_figures(inputs, kept)))
            with self._lock:
                self._kept[full_key] = shape
        return shape.filled(figures)
