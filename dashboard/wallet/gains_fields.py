"""The wallet's gains figures: per row the average price, the cost, the unrealized gain and the
change over 24 hours; their sums on net assets.

What they are made from changes far less often than the figures (which every rate tick makes
again), so each part is kept under the key of what it is made from, in memos that already exist:
- the acquisition cost, in a memo of its own (_COSTS), keyed on the app, the
  account, its balances' last journal sequence numbers (read with the wallet's rows: every fill,
  transfer and compensation writes one), its method and its zone: a rate tick reads nothing
  again; a fill, a transfer, a compensation or a change of method makes it again;
- the rates of 24 hours ago, the same for every account, in the same memo, keyed on the app and
  the 15-minute boundary: read once per process per boundary;
- the figures with both, with the base figures' own `derived`.
"""
from __future__ import annotations

import decimal
import math
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from cachetools import LRUCache

from dashboard.core.cost_basis import to_decimal
from dashboard.core.formatting import number, plain
from dashboard.core.history import ORIGIN
from dashboard.ledger.acquisition import average_costs, rates_as_of
from dashboard.wallet.holdings import WalletFigures, kept_with_figures
from dashboard.wallet.page_memo import app_identity

JPY = "jpy"
# The rate "as of 24 hours ago" is the close of the last 15-minute period ending by then (the
# history keeps those closes: one index lookup a currency, and the same figure for 15 minutes).
# That period closed a day ago, so its closes no longer change: they are read once per process
# per boundary, for every account (a history backfilled later shows from the next boundary on).
PERIOD = timedelta(minutes=15)
DAY = timedelta(hours=24)
PRICE_PLACES, PERCENT_PLACES = 2, 2
ROW_FIELDS = ("average_price_jpy", "cost_jpy", "unrealized_jpy", "unrealized_percent", "change_24h_jpy", "change_24h_percent")
# Yen amounts, hidden in discreet mode; percentages stay.
HIDDEN_FIELDS = ("average_price_jpy", "cost_jpy", "unrealized_jpy", "change_24h_jpy")
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


# The acquisition costs, per account: a few hundred bytes each, kept apart from the figures' memo
# (about 20 kB an entry, 2,048 of them), where a stream process's thousands of accounts each
# evicted the next one's and read it again after every tick. As many as the read cache's wallets.
_COSTS: LRUCache = LRUCache(maxsize=20_000)
_COSTS_LOCK = threading.Lock()


def boundary_of(now: datetime) -> datetime:
    """The 15-minute boundary at or before 24 hours ago."""
    return ORIGIN + ((now - DAY - ORIGIN) // PERIOD) * PERIOD


def with_gains(base: WalletFigures, account_id: int, ledger: tuple, method: str, zone: str,
               now: datetime) -> tuple[WalletFigures, datetime]:
    """The figures with the gains fields, and the moment the clock alone changes them (the next
    boundary: the rates of 24 hours ago move on). ledger: the wallet rows' (holdings.WalletRows)."""
    boundary = boundary_of(now)
    app = app_identity()
    costs = acquisition_costs(account_id, ledger, method, zone)
    past = kept_with_figures(("rates_24h", app, boundary), lambda: rates_as_of(boundary, int(PERIOD.total_seconds())))
    # base is keyed on the rows (balances and rates), not on the journal or the method; the gains
    # are made from base, the costs and the past rates alone, so accounts with the same rows and
    # costs share them (the live wallet makes every open account's figures after each tick).
    figures = base.derived(("gains", costs, boundary),
                           lambda: WalletFigures(add_gains(base.document, dict(costs), dict(past))))
    return figures, boundary + PERIOD + DAY


def acquisition_costs(account_id: int, ledger: tuple, method: str, zone: str) -> tuple:
    """The account's unit costs by its method, as of the journal the ledger names (memoised)."""
    key = ("average_costs", app_identity(), account_id, ledger, method, zone)
    with _COSTS_LOCK:
        costs = _COSTS.get(key)
    if costs is None:
        costs = average_costs(account_id, method, ZoneInfo(zone))
        with _COSTS_LOCK:
            _COSTS[key] = costs
    return costs


def add_gains(document: dict, costs: dict[str, Fraction | None], past_rates: dict[str, Decimal]) -> dict:
    """A copy of the /api/balance document with the gains fields (exact strings; percentages
    half-up to 2 decimals; null where there is no cost or no rate 24 hours ago; none on JPY's row)."""
    locale = document["locale"]
    rows, cost_sum, unrealized_sum, change_sum, past_sum = [], Decimal(0), None, None, Decimal(0)
    for row in document["balances"]:
        if row["currency"] == JPY:
            rows.append(row)
            continue
        fields = _row_fields(row, costs.get(row["currency"]), past_rates.get(row["currency"]))
        if fields["unrealized_jpy"] is not None:
            cost_sum = _EXACT.add(cost_sum, Decimal(fields["cost_jpy"]))
            unrealized_sum = _EXACT.add(unrealized_sum or Decimal(0), Decimal(fields["unrealized_jpy"]))
        if fields["change_24h_jpy"] is not None:
            change_sum = _EXACT.add(change_sum or Decimal(0), Decimal(fields["change_24h_jpy"]))
            past_sum = _EXACT.add(past_sum, _EXACT.multiply(Decimal(row["total"]), past_rates[row["currency"]]))
        rows.append({**row, **fields, "formatted": {**row["formatted"], **_formatted(fields, locale)}})
    net = {
        "unrealized_jpy": None if unrealized_sum is None else plain(unrealized_sum),
        "unrealized_percent": _percent(unrealized_sum, cost_sum),
        "change_24h_jpy": None if change_sum is None else plain(change_sum),
        "change_24h_percent": _percent(change_sum, past_sum),
    }
    net_formatted = _formatted(net, locale)
    return {**document, "net_assets": {**document["net_assets"], **net,
                                       "formatted_gains": net_formatted}, "balances": rows}


def _row_fields(row: dict, unit: Fraction | None, past: Decimal | None) -> dict:
    fields = dict.fromkeys(ROW_FIELDS)
    total = Decimal(row["total"]) if row["total"] is not None else None
    if unit is not None and total is not None:
        cost = math.ceil(Fraction(total) * unit)  # a cost, rounded up to the yen as the NTA's sheets round costs
        fields["average_price_jpy"] = plain(to_decimal(unit, PRICE_PLACES))
        fields["cost_jpy"] = str(cost)
        if row["total_jpy"] is not None:
            unrealized = _EXACT.subtract(Decimal(row["total_jpy"]), Decimal(cost))
            fields["unrealized_jpy"] = plain(unrealized)
            fields["unrealized_percent"] = _percent(unrealized, Decimal(cost))
    if past is not None and row["rate_jpy"] is not None and total is not None:
        now = Decimal(row["rate_jpy"])
        fields["change_24h_jpy"] = plain(_EXACT.multiply(total, _EXACT.subtract(now, past)))
        fields["change_24h_percent"] = _two_places((Fraction(now) / Fraction(past) - 1) * 100)
    return fields


def _percent(part: Decimal | None, whole: Decimal) -> str | None:
    if part is None or not whole:
        return None
    return _two_places(Fraction(part) / Fraction(whole) * 100)


def _two_places(value: Fraction) -> str:
    """A percentage half-up to 2 decimals, always written with both ("5.00"; never "-0.00")."""
    rounded = to_decimal(value, PERCENT_PLACES)
    return format(abs(rounded) if rounded.is_zero() else rounded, "f")


def _formatted(fields: dict, locale: str) -> dict:
    """The figures as the page shows them: yen to the yen (the average price to the sen), signed
    where a gain or a change, percentages to 2 decimals."""
    shown = {}
    for name, value in fields.items():
        if value is None:
            shown[name] = None
            continue
        amount = Decimal(value)
        places = PERCENT_PLACES if name.endswith("_percent") else PRICE_PLACES if name == "average_price_jpy" else 0
        text = number(amount, places, locale=locale)
        signed = name.startswith(("unrealized", "change"))
        shown[name] = ("+" + text) if signed and amount > 0 else text
    return shown
