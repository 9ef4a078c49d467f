"""A page of the journal as the activity page and /api/activity show it: exact strings, and the
same figures formatted for the locale. With amounts hidden (discreet mode) no figure is sent,
not even inside a reason."""
from __future__ import annotations

from decimal import Decimal, localcontext

from dashboard.activity.feed import FeedPage
from dashboard.activity.reasons import describe
from dashboard.core.compensation import EXACT
from dashboard.core.formatting import amount, plain


def signed(value: Decimal, decimals: int, locale: str) -> str:
    """A change as the wallet formats an amount, with its sign: +885,490 / -10,000.000000 / 0."""
    text = amount(value, decimals, locale=locale)
    return "+" + text if value > 0 else text


def present_page(page: FeedPage, *, locale: str, format_time, hide_amounts: bool) -> dict:
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
