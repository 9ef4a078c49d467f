"""A page of the journal as the activity page and /api/activity show it: exact strings, and the
same figures formatted for the locale. With amounts hidden (discreet mode) no figure is sent,
not even inside a reason."""
from __future__ import annotations

from decimal import Decimal, localcontext

from dashboard.activity.feed import FeedPage
from dashboard.activity.reasons import describe
from dashboard.core.compensation import EXACT
from dashboard.core.formatting import amount, cut_decimal_zero, number, plain

MINUS = "\u2212"  # a minus sign, not a hyphen: "−500 XRP" is a movement, never a negative balance


def signed(value: Decimal, decimals: int, locale: str) -> str:
    """A change as the wallet formats an amount, with its sign: +885,490 / -10,000.000000 / 0."""
    text = amount(value, decimals, locale=locale)
    return "+" + text if value > 0 else text


def movement(value: Decimal, decimals: int, locale: str, code: str) -> str:
    """A change as the page says it, with its unit: "+885,490 XEM", "−500 XRP", "0 BTC"."""
    text = amount(abs(value), decimals, locale=locale)
    sign = "+" if value > 0 else MINUS if value < 0 else ""
    return f"{sign}{text} {code}"


def movement_jpy(value: Decimal, rate: Decimal | None, locale: str) -> str | None:
    """The change's yen value at its time, as the wallet writes yen (number, then cut_decimal_zero):
    "≈ ¥ 44,274.5"; None without a rate then or for a change of nothing."""
    if rate is None or not value:
        return None
    with localcontext(EXACT):
        jpy = abs(value) * rate
    sign = "+" if value > 0 else MINUS
    return f"{sign}¥ {cut_decimal_zero(number(jpy, locale=locale))}"


def present_page(page: FeedPage, *, locale: str, format_time, hide_amounts: bool,
                 format_time_in_zone=None, rate_at=None) -> dict:
    """rate_at(currency, moment): the JPY rate then, or None (yen values are left out without it)."""
    decimals = {entry.currency_code: places for entry, places in page.entries}
    entries = []
    for entry, places in page.entries:
        with localcontext(EXACT):  # 40-digit balances: never the default 28 digits
            available = entry.available_after - entry.available_before
            in_use = entry.in_use_after - entry.in_use_before
        reason = describe(entry.reason_code, entry.reason_params, entry.reason, locale=locale, decimals=decimals,
                          hide_amounts=hide_amounts)
        entries.append({
            "time": entry.effective_at.isoformat(),
            "currency": entry.currency_code,
            "available_change": None if hide_amounts else plain(available),
            "in_use_change": None if hide_amounts else plain(in_use),
            "reason_code": entry.reason_code,
            "reason": reason,
            "formatted": {
                "time": format_time(entry.effective_at),
                "code": entry.currency_code.upper(),
                "available_change": None if hide_amounts else signed(available, places, locale),
                "in_use_change": None if hide_amounts else signed(in_use, places, locale),
                "time_in_zone": format_time_in_zone(entry.effective_at) if format_time_in_zone else None,
                "available_movement": None if hide_amounts else movement(available, places, locale, entry.currency_code.upper()),
                "in_use_movement": None if hide_amounts else movement(in_use, places, locale, entry.currency_code.upper()),
                "available_movement_jpy": None if hide_amounts or rate_at is None or entry.currency_code == "jpy"
                else movement_jpy(available, rate_at(entry.currency_code, entry.effective_at), locale),
                "in_use_movement_jpy": None if hide_amounts or rate_at is None or entry.currency_code == "jpy"
                else movement_jpy(in_use, rate_at(entry.currency_code, entry.effective_at), locale),
            },
        })
    return {
        "page": page.number,
        "pages": page.pages,
        "total": page.total,
        "locale": locale,
        "hide_amounts": hide_amounts,
        "entries": entries,
    }
