"""The wallet page's two charts, allocation and net-asset history, as plain values for the
server-drawn SVG of templates/wallet/_charts.html; computed once per figures, account, range,
latest period boundary and discreet switch."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime, get_timezone
from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from dashboard.core.chart_geometry import OTHER, allocation, line_points, sample_indices
from dashboard.core.formatting import number
from dashboard.core.history import RANGES, holding_total
from dashboard.language.i18n import display_zone, select_locale
from dashboard.wallet.history import History, net_asset_history
from dashboard.wallet.holdings import WalletFigures
from dashboard.wallet.page_memo import app_identity
from dashboard.wallet.presentation import HIDDEN, present_jpy

DEFAULT_RANGE = "1y"
RANGE_LABELS = {"1d": _l("1D"), "1w": _l("1W"), "1m": _l("1M"), "1y": _l("1Y"), "all": _l("All")}
WIDTH, HEIGHT = 600, 200
TABLE_ROWS = 13  # the table alternative samples the line: first, last and evenly between


def requested_range() -> str:
    """The history range the page shows: ?range=…, else the default; anything else is a 400."""
    name = request.args.get("range", DEFAULT_RANGE)
    if name not in RANGES:
        abort(400, description=unknown_range_message())
    return name


def unknown_range_message() -> str:
    return _("Unknown range: choose one of 1d, 1w, 1m, 1y or all.")


def chart_key(now: datetime | None = None) -> tuple:
    """What, besides the figures, the charts of the page are made from."""
    name = requested_range()
    spacing = RANGES[name].spacing
    now = now or datetime.now(UTC)
    boundary = datetime(1970, 1, 5, tzinfo=UTC) + ((now - datetime(1970, 1, 5, tzinfo=UTC)) // spacing) * spacing
    return (name, boundary, current_user.id, current_user.discreet)


def chart_changes_at(key: tuple) -> datetime:
    """When the charts of this key are redrawn: the history's next period boundary."""
    name, boundary = key[0], key[1]
    return boundary + RANGES[name].spacing


def wallet_charts(figures: WalletFigures) -> dict:
    key = ("charts", app_identity(), *chart_key())
    return figures.derived(key, lambda: _make_charts(figures, requested_range()))


def allocation_slices(figures: WalletFigures, locale: str) -> list[dict]:
    """The allocation chart's slices alone (the live wallet sends them with each change); in the
    figures' own language (locale), with "Other" in the current one."""
    return _allocation(figures.document, locale)


def _make_charts(figures: WalletFigures, range_name: str) -> dict:
    locale, zone, discreet = select_locale(), display_zone(), current_user.discreet
    document = figures.document
    history = net_asset_history(
        current_user.id, range_name,
        now_jpy=Decimal(document["net_assets"]["jpy"]), now_missing=tuple(document["missing_rates"]),
        currencies=tuple(row["currency"] for row in document["balances"]),
    )
    return {
        "range": range_name,
        "ranges": [(name, str(label)) for name, label in RANGE_LABELS.items()],
        "allocation": _allocation(document, locale),
        "history": _history(history, locale=locale, zone=zone, discreet=discreet),
    }


# Currencies with a colour of their own in dashboard.css (.colour-<code>); "Other" and a currency
# added later without one share the neutral colour.
COLOURED = frozenset({"jpy", "btc", "eth", "etc", "lsk", "fct", "xmr", "rep", "xrp", "zec", "xem", "ltc", "dash", "bch"})


def colour_of(currency: str) -> str:
    """A currency's colour class: its own, whatever its rank, so it never changes with the figures."""
    return f"colour-{currency}" if currency in COLOURED else "colour-other"


def _allocation(document: dict, locale: str) -> list[dict]:
    values = []
    for row in document["balances"]:
        if row["available_jpy"] is not None:
            values.append((row["currency"], holding_total(Decimal(row["available_jpy"]), Decimal(row["in_use_jpy"]))))
    return [
        {
            "label": _("Other") if piece.currency == OTHER else piece.currency.upper(),
            "members": ", ".join(code.upper() for code in piece.members),
            "percent": number(piece.percent, 1, locale=locale),
            "x": piece.x, "width": piece.width, "colour": colour_of(piece.currency),
        }
        for piece in allocation(values)
    ]


def _history(history: History, *, locale: str, zone: str, discreet: bool) -> dict:
    tz = get_timezone(zone)
    intraday = RANGES[history.range].spacing.days == 0

    def when(moment: datetime) -> str:
        if intraday:
            return format_datetime(moment, "short", tzinfo=tz, locale=locale)
        return format_date(moment.astimezone(tz), "medium", locale=locale)

    values = [point.jpy for point in history.points]
    line = _line(history, values)
    low = min(range(len(values)), key=lambda i: values[i])
    high = max(range(len(values)), key=lambda i: values[i])

    def figure(position: int) -> str:
        if discreet:
            index = history.index[position]
            return "—" if index is None else number(index, 1, locale=locale)
        return "¥ " + present_jpy(values[position], locale)

    def row(position: int) -> dict:
        return {
            "when": _("Now") if position == len(values) - 1 else when(history.points[position].t),
            "jpy": HIDDEN if discreet else "¥ " + present_jpy(values[position], locale),
            "index": "—" if history.index[position] is None else number(history.index[position], 1, locale=locale),
        }

    # Every row but now's is a past point, which only a new period changes: made once per past,
    # language, zone and switch (and the past's indices, which move only while now is their base).
    positions = sample_indices(len(values), TABLE_ROWS)
    past_positions = positions[:-1]
    past = history.past
    past_rows = past.derived(
        ("table rows", locale, zone, discreet, tuple(history.index[p] for p in past_positions)),
        lambda: tuple(row(position) for position in past_positions),
    )
    start = past.derived(("start", locale, zone), lambda: when(history.points[0].t)) if past.points else when(history.points[0].t)
    return {
        "polyline": line.polyline,
        "single": len(line.xy) == 1,
        "first_xy": line.xy[0],
        "top": figure(high), "bottom": figure(low),
        "start": start, "end": _("Now"),
        "summary": _("From %(start)s to %(end)s, highest %(high)s on %(high_when)s, lowest %(low)s on %(low_when)s.",
                     start=figure(0), end=figure(len(values) - 1),
                     high=figure(high), high_when=_when_or_now(history, high, when),
                     low=figure(low), low_when=_when_or_now(history, low, when)),
        "complete": history.complete,
        "rows": [*past_rows, row(positions[-1])],
        "scale_is_index": discreet,
    }


@dataclass(frozen=True)
class _Line:
    xy: list[tuple[Decimal, Decimal]]
    polyline: str


def _polyline(xy) -> str:
    return " ".join(f"{x},{y}" for x, y in xy)


def _line(history: History, values: list[Decimal]) -> _Line:
    """The history line on the chart's viewBox (values: the points' figures, now's last). Its
    past points move only when the scale does: while now lies within the past's lowest and
    highest values (nearly every rate tick), the past's points are reused and only now's is
    placed, on that same scale."""
    past = history.past
    if not past.points:
        xy = line_points(values, width=WIDTH, height=HEIGHT)
        return _Line(xy, _polyline(xy))
    past_values = values[:-1]

    def past_line():
        # The past's points as they lie with one more point after them (any value within the
        # past's range: the first one), which keeps both the spacing and the scale.
        xy = line_points([*past_values, past_values[0]], width=WIDTH, height=HEIGHT)[:-1]
        return min(past_values), max(past_values), xy, _polyline(xy)

    low, high, past_xy, past_polyline = past.derived(("line", WIDTH, HEIGHT), past_line)
    now = values[-1]
    if not low <= now <= high:
        xy = line_points(values, width=WIDTH, height=HEIGHT)
        return _Line(xy, _polyline(xy))
    # Now on the past's scale: the last point of any line with the same ends, at the right edge.
    last = line_points([low, high, now], width=WIDTH, height=HEIGHT)[-1]
    return _Line([*past_xy, last], f"{past_polyline} {last[0]},{last[1]}")


def _when_or_now(history: History, position: int, when) -> str:
    return _("now") if position == len(history.points) - 1 else when(history.points[position].t)
