"""The wallet's gains figures: per row the average price, the cost, the unrealized gain and the
change over 24 hours; their sums on net assets.

What they are made from changes far less often than the figures (which every rate tick makes
again), so each part is kept under the key of what it is made from, in memos that already exist:
- the acquisition cost, in a memo of its own (_COSTS), keyed on the app, the
  account, its balances' last journal sequence numbers (read with the wallet's rows: every fill,
  transfer and compensation writes one), its method and its zone: a rate tick reads nothing
  again; a fill, a transfer, a compensation or a change of method makes it again; beside it,
  what the cost makes with the units held (the average price and the cost, with their texts);
- the rates of 24 hours ago, the same for every account, in the same memo, keyed on the app and
  the 15-minute boundary: read once per process per boundary;
- the figures with both, with the base figures' own `derived`.
"""
from __future__ import annotations

import decimal
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from cachetools import LRUCache

from dashboard.core.cost_basis import to_decimal
from dashboard.core.formatting import cut_decimal_zero, number, plain
from dashboard.core.history import ORIGIN
from dashboard.core.valuation import percent_half_up
from dashboard.ledger.acquisition import average_costs, rates_as_of
from dashboard.wallet.holdings import WalletFigures, kept_in, kept_with_figures
from dashboard.wallet.page_memo import app_identity

JPY = "jpy"
YEN = "¥ "
# The rate "as of 24 hours ago" is the close of the last 15-minute period ending by then (the
# history keeps those closes: one index lookup a currency, and the same figure for 15 minutes).
# That period closed a day ago, so its closes no longer change: they are read once per process
# per boundary, for every account (a history backfilled later shows from the next boundary on).
PERIOD = timedelta(minutes=15)
DAY = timedelta(hours=24)
PRICE_PLACES, PERCENT_PLACES = 2, 2
ROW_FIELDS = ("average_price_jpy", "cost_jpy", "unrealized_jpy", "unrealized_percent", "change_24h_jpy", "change_24h_percent")
# What a rate tick changes; the rest (the average price and the cost) only the ledger does.
RATE_FIELDS = ("unrealized_jpy", "unrealized_percent", "change_24h_jpy", "change_24h_percent")
# Yen amounts, hidden in discreet mode; percentages stay.
HIDDEN_FIELDS = ("average_price_jpy", "cost_jpy", "unrealized_jpy", "change_24h_jpy")
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


# The acquisition costs and what they make with the units held, per account: a few hundred bytes each, kept apart from the figures' memo
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
    # What the cost makes with the units held (the ledger fixes both): its fields and their text,
    # made once per ledger and language rather than at every tick, kept beside the costs.
    held = _kept(("held_costs", app, account_id, ledger, method, zone, base.document["locale"]),
                 lambda: held_costs(base.document, dict(costs)))
    past = kept_with_figures(("rates_24h", app, boundary), lambda: rates_as_of(boundary, int(PERIOD.total_seconds())))
    # base is keyed on the rows (balances and rates), not on the journal or the method; the gains
    # are made from base, the costs and the past rates alone (held is made from base and the
    # costs), so accounts with the same rows and costs share them (the live wallet makes every
    # open account's figures after each tick).
    figures = base.derived(("gains", costs, boundary),
                           lambda: WalletFigures(add_gains(base.document, dict(held), dict(past))))
    return figures, boundary + PERIOD + DAY


def acquisition_costs(account_id: int, ledger: tuple, method: str, zone: str) -> tuple:
    """The account's unit costs by its method, as of the journal the ledger names (memoised)."""
    return _kept(("average_costs", app_identity(), account_id, ledger, method, zone),
                 lambda: average_costs(account_id, method, ZoneInfo(zone)))


def _kept(key: tuple, make):
    return kept_in(_COSTS, _COSTS_LOCK, key, make)


@dataclass(frozen=True)
class HeldCost:
    """The cost of what a row holds: the average unit cost and units × it, rounded up to the yen
    as the NTA's sheets round costs, as the document writes them."""

    average_price_jpy: str
    cost_jpy: str
    cost: int
    formatted: dict


def held_costs(document: dict, costs: dict[str, Fraction | None]) -> tuple[tuple[str, HeldCost], ...]:
    """Each row's HeldCost where something was bought (a unit cost) and the units are known, as
    the memo keeps things: items, not a dictionary a caller could change."""
    held = {}
    for row in document["balances"]:
        unit = costs.get(row["currency"])
        if row["currency"] == JPY or unit is None or row["total"] is None:
            continue
        cost = math.ceil(Fraction(Decimal(row["total"])) * unit)
        price = plain(to_decimal(unit, PRICE_PLACES))
        held[row["currency"]] = HeldCost(price, str(cost), cost, _formatted(
            {"average_price_jpy": price, "cost_jpy": str(cost)}, document["locale"]))
    return tuple(held.items())


def add_gains(document: dict, held: dict[str, HeldCost], past_rates: dict[str, Decimal]) -> dict:
    """A copy of the /api/balance document with the gains fields (exact strings; percentages
    half-up to 2 decimals; null where there is no cost or no rate 24 hours ago; none on JPY's row)."""
    locale = document["locale"]
    rows, cost_sum, unrealized_sum, change_sum, past_sum = [], 0, None, None, Decimal(0)
    for row in document["balances"]:
        if row["currency"] == JPY:
            rows.append(row)
            continue
        past = past_rates.get(row["currency"])
        fields, shown = _row_fields(row, held.get(row["currency"]), past, locale)
        if fields["unrealized_jpy"] is not None:
            cost_sum += int(fields["cost_jpy"])
            unrealized_sum = _EXACT.add(unrealized_sum or Decimal(0), Decimal(fields["unrealized_jpy"]))
        if fields["change_24h_jpy"] is not None:
            change_sum = _EXACT.add(change_sum or Decimal(0), Decimal(fields["change_24h_jpy"]))
            past_sum = _EXACT.add(past_sum, _EXACT.multiply(Decimal(row["total"]), past))
        rows.append({**row, **fields, "formatted": {**row["formatted"], **shown}})
    net = {
        "unrealized_jpy": None if unrealized_sum is None else plain(unrealized_sum),
        "unrealized_percent": _percent(unrealized_sum, Decimal(cost_sum)),
        "change_24h_jpy": None if change_sum is None else plain(change_sum),
        "change_24h_percent": _percent(change_sum, past_sum),
    }
    net_formatted = _formatted(net, locale)
    return {**document, "net_assets": {**document["net_assets"], **net,
                                       "formatted_gains": net_formatted}, "balances": rows}


def _row_fields(row: dict, held: HeldCost | None, past: Decimal | None, locale: str) -> tuple[dict, dict]:
    """The row's gains fields and their text: what the cost makes is the held cost's; what the
    rate makes is computed here, at every tick."""
    fields = dict.fromkeys(ROW_FIELDS)
    shown = dict.fromkeys(ROW_FIELDS)
    if held is not None:
        fields["average_price_jpy"], fields["cost_jpy"] = held.average_price_jpy, held.cost_jpy
        shown.update(held.formatted)
        if row["total_jpy"] is not None:
            unrealized = _EXACT.subtract(Decimal(row["total_jpy"]), Decimal(held.cost))
            fields["unrealized_jpy"] = plain(unrealized)
            fields["unrealized_percent"] = _percent(unrealized, Decimal(held.cost))
    if past is not None and row["rate_jpy"] is not None and row["total"] is not None:
        now = Decimal(row["rate_jpy"])
        fields["change_24h_jpy"] = plain(_EXACT.multiply(Decimal(row["total"]), _EXACT.subtract(now, past)))
        fields["change_24h_percent"] = _percent(_EXACT.subtract(now, past), past)
    shown.update(_formatted({name: fields[name] for name in RATE_FIELDS}, locale))
    return fields, shown


def _percent(part: Decimal | None, whole: Decimal) -> str | None:
    """part ÷ whole × 100, half-up (away from zero) to 2 decimals, exactly (in integers, as the
    shares are: core/valuation.py), always written with both decimals, never "-0.00"."""
    if part is None or not whole:
        return None
    return format(percent_half_up(part, whole, PERCENT_PLACES), "f")


def _formatted(fields: dict, locale: str) -> dict:
    """The figures as the page shows them, whole: yen with the yen sign, to the yen (the average
    price to the sen, by `number` then `cut_decimal_zero` as every price on the page), a gain or a
    change signed before the yen sign ("-¥ 11,551", "+¥ 8,549"); percentages to 2 decimals, signed.
    Whole strings, since the page writes figures out and never filters them (page_shapes.py)."""
    shown = {}
    for name, value in fields.items():
        if value is None:
            shown[name] = None
            continue
        amount = Decimal(value)
        if name.endswith("_percent"):
            text = number(amount, PERCENT_PLACES, locale=locale)
        elif name == "average_price_jpy":
            text = YEN + cut_decimal_zero(number(amount, PRICE_PLACES, locale=locale), locale=locale)
        else:
            text = YEN + number(abs(amount), 0, locale=locale)
            if amount < 0 and text != YEN + "0":
                text = "-" + text
        signed = name.startswith(("unrealized", "change"))
        shown[name] = ("+" + text) if signed and amount > 0 and text != YEN + "0" else text
    return shown
