"""Turns a Valuation into the figures the page and /api/balance show: exact strings plus the
same figures formatted for a locale, so the browser never re-implements the filters."""
from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal

from dashboard.core.formatting import amount, cut_decimal_zero, number, plain
from dashboard.core.valuation import Valuation, share_percent


def _exact(value) -> str | None:
    return None if value is None else plain(value)


def _jpy(value, locale: str) -> str | None:
    # The source template: ¥ {{ v | number | cut_decimal_zero }}
    return None if value is None else cut_decimal_zero(number(value, locale=locale))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def present_net_assets(valuation: Valuation, locale: str) -> str:
    """The Net Assets figure: ¥ {{ net_assets | number(1) | cut_decimal_zero }}"""
    return present_jpy(valuation.net_assets_jpy, locale)


def present_jpy(value, locale: str) -> str:
    """A JPY total as the Net Assets figure is shown."""
    return cut_decimal_zero(number(value, 1, locale=locale))


def _share(value) -> str | None:
    # Always one decimal ("0.0", "100.0"): a rounded figure, not an exact amount.
    return None if value is None else format(value, "f")


@functools.lru_cache(maxsize=4096)
def _holding_figures(available: Decimal, in_use: Decimal, total: Decimal, decimals: int, locale: str) -> tuple[str, ...]:
    """A holding's own amounts, exact and formatted. A rate tick changes none of them, yet every
    tick makes the document again; kept per process (a few hundred bytes each). Equal amounts
    written differently (1.0, 1.00) share an entry, and format alike: both are normalised or
    rounded to the currency's places."""
    return (_exact(available), _exact(in_use), _exact(total), amount(available, decimals, locale=locale),
            amount(in_use, decimals, locale=locale), amount(total, decimals, locale=locale))


def present_balance(valuation: Valuation, *, locale: str, format_time, name_of) -> dict:
    """The /api/balance document but for the account's preferences; format_time renders a
    datetime in the page's zone and language, name_of names a currency in that language."""
    rows = []
    for row in valuation.holdings:
        total_jpy = row.total_jpy
        share = share_percent(total_jpy, valuation.net_assets_jpy)
        available, in_use, total, available_text, in_use_text, total_text = _holding_figures(
            row.available, row.in_use, row.total, row.decimals, locale)
        name = str(name_of(row.currency))  # once: a catalogue lookup each time
        rows.append(
            {
                "currency": row.currency,
                "available": available,
                "in_use": in_use,
                "rate_jpy": _exact(row.rate_jpy),
                "rate_as_of": _iso(row.rate_as_of),
                "available_jpy": _exact(row.available_jpy),
                "in_use_jpy": _exact(row.in_use_jpy),
                "total": total,
                "total_jpy": _exact(total_jpy),
                "share_percent": _share(share),
                "missing_rate": row.missing_rate,
                "stale": row.stale,
                "zero": not row.has_balance,
                # "XRP" is named by its code: the page then says it once, not "XRP XRP".
                "name_is_code": name.casefold() == row.currency.casefold(),
                "formatted": {
                    "code": row.currency.upper(),
                    "name": name,
                    "available": available_text,
                    "in_use": in_use_text,
                    "total": total_text,
                    "available_jpy": _jpy(row.available_jpy, locale),
                    "in_use_jpy": _jpy(row.in_use_jpy, locale),
                    "total_jpy": _jpy(total_jpy, locale),
                    "rate_jpy": _jpy(row.rate_jpy, locale),
                    "share_percent": None if share is None else number(share, 1, locale=locale),
                },
            }
        )
    return {
        "net_assets": {"jpy": plain(valuation.net_assets_jpy), "formatted": present_net_assets(valuation, locale)},
        "complete": valuation.complete,
        "missing_rates": list(valuation.missing_rates),
        "stale": valuation.stale,
        "rates_as_of": _iso(valuation.rates_as_of),
        "rates_as_of_formatted": format_time(valuation.rates_as_of) if valuation.rates_as_of else None,
        "locale": locale,
        "balances": rows,
    }


BALANCE_ORDERS = ("value", "name")


def arrange_balances(document: dict, *, order: str, hide_zero: bool, hide_small: bool, small_jpy: int) -> dict:
    """The document with its rows in the account's order and each row saying whether it is
    `small` (worth less than small_jpy yen) and `hidden` (by "Hide zero balances" or "Hide small
    balances"): a copy, since the document is shared between requests.

    By value: the largest yen value first, currencies without a rate after every valued one;
    equal values keep the exchange's display order (the sort is stable). By name: the name in
    the page's language, then the code."""
    rows = document["balances"]
    if order == "name":
        ordered = sorted(rows, key=lambda row: (row["formatted"]["name"].casefold(), row["currency"]))
    elif order == "value":
        ordered = sorted(rows, key=lambda row: (row["total_jpy"] is None, -Decimal(row["total_jpy"] or 0)))
    else:
        raise ValueError(f"unknown balance order: {order!r}")
    arranged = []
    for row in ordered:
        small = row["total_jpy"] is not None and Decimal(row["total_jpy"]) < small_jpy
        arranged.append({**row, "small": small, "hidden": (hide_zero and row["zero"]) or (hide_small and small)})
    return {**document, "balances": arranged}


HIDDEN = "•••"
# The gains' formatted yen carry their yen sign (wallet/gains_fields.py), so hidden they carry it too.
HIDDEN_YEN = "¥ " + HIDDEN
# Every figure that says how much the account holds; rates (public prices), codes and flags stay.
_HIDDEN_ROW_FIELDS = ("available", "in_use", "total", "available_jpy", "in_use_jpy", "total_jpy")


# The gains figures' yen amounts (wallet/gains_fields.py), where the document has them; their
# percentages stay.
_HIDDEN_GAINS_FIELDS = ("average_price_jpy", "cost_jpy", "unrealized_jpy", "change_24h_jpy")


def conceal_amounts(document: dict) -> dict:
    """The /api/balance document with every amount null and its formatted text "•••" (discreet
    mode): a copy, since the document is shared between requests."""
    rows = []
    for row in document["balances"]:
        hidden = _HIDDEN_ROW_FIELDS + tuple(name for name in _HIDDEN_GAINS_FIELDS if name in row)
        formatted = {**row["formatted"], **{name: HIDDEN for name in _HIDDEN_ROW_FIELDS},
                     **{name: HIDDEN_YEN for name in hidden if name not in _HIDDEN_ROW_FIELDS and row[name] is not None}}
        rows.append({**row, **{name: None for name in hidden}, "formatted": formatted})
    net = document["net_assets"]
    concealed = {**net, "jpy": None, "formatted": HIDDEN}
    for name in _HIDDEN_GAINS_FIELDS:
        if name in net:
            concealed[name] = None
            concealed["formatted_gains"] = {**concealed["formatted_gains"], name: HIDDEN_YEN if net[name] is not None else None}
    return {**document, "net_assets": concealed, "balances": rows}
