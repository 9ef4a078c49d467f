"""Why a balance changed, as the journal records it: reasons the app writes itself carry a code
and exact parameters (shown to the customer in their language, dashboard/activity/reasons.py);
an operator's own words are kept as written, without a code."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal

from dashboard.core.formatting import plain

BALANCE_IMPORT = "balance_import"
ADJUSTMENT = "adjustment"
DEMO_SEED = "demo_seed"
DEMO_ACTIVITY = "demo_activity"
COMPENSATION = "compensation"
TRADE = "trade"
TRANSFER = "transfer"
CODES = (BALANCE_IMPORT, ADJUSTMENT, DEMO_SEED, DEMO_ACTIVITY, COMPENSATION, TRADE, TRANSFER)
# What happens in the demo account's year (ledger/demo_story.py), each said in the page's language.
DEMO_KINDS = ("deposit", "trade", "withdrawal requested", "withdrawal", "orders placed")


@dataclass(frozen=True)
class Reason:
    # English text, kept in `journal_entries.reason` for operators (`balances history`).
    text: str
    code: str | None = None
    # Strings only (exact decimals in plain notation), so JSON round-trips them unchanged.
    params: dict[str, str] = field(default_factory=dict)


def as_reason(reason: str | Reason) -> Reason:
    """A plain string is an operator's free text."""
    return reason if isinstance(reason, Reason) else Reason(reason)


def balance_import() -> Reason:
    return Reason("balance import", BALANCE_IMPORT)


def adjustment() -> Reason:
    return Reason("manual correction", ADJUSTMENT)


def demo_seed() -> Reason:
    return Reason("demo seed", DEMO_SEED)


def demo_activity(kind: str) -> Reason:
    """A step of the demo account's invented year: a deposit, a trade, a withdrawal …"""
    if kind not in DEMO_KINDS:
        raise ValueError(f"not a demo step: {kind!r}")
    return Reason(f"demo: {kind}", DEMO_ACTIVITY, {"kind": kind})


def compensation(currency: str, name: str, rate: Decimal, quantity: Decimal) -> Reason:
    """One holder's compensation: `rate` JPY for each of the `quantity` units they held."""
    rate_text, quantity_text = _rate_text(rate), plain(quantity)
    return Reason(
        f"{name} compensation: JPY {rate_text} x {quantity_text} {currency.upper()}",
        COMPENSATION,
        {"currency": currency, "name": name, "rate": rate_text, "quantity": quantity_text},
    )


@functools.lru_cache(maxsize=16)
def _rate_text(rate: Decimal) -> str:
    # A run writes one reason per holder, all at the plan's one rate: written out once.
    return plain(rate)


def trade(trade_id: str, side: str, currency: str, quantity: Decimal, price: Decimal) -> Reason:
    """One fill (dashboard/ledger/fills.py): both its journal entries carry it."""
    return Reason(f"trade {trade_id}: {side} {plain(quantity)} {currency.upper()} at JPY {plain(price)}", TRADE,
                  {"trade_id": trade_id, "side": side, "currency": currency, "quantity": plain(quantity), "price": plain(price)})


def transfer(transfer_id: str, direction: str, currency: str, quantity: Decimal) -> Reason:
    """A deposit (in) or withdrawal (out) of a crypto-asset."""
    word = "deposit" if direction == "in" else "withdrawal"
    return Reason(f"{word} {transfer_id}: {plain(quantity)} {currency.upper()}", TRANSFER,
                  {"transfer_id": transfer_id, "direction": direction, "currency": currency, "quantity": plain(quantity)})
