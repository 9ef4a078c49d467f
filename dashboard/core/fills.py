"""What one fill moves: the JPY rounded as an exchange rounds it, the two balances' changes, and
the acquisition or disposal it is for the acquisition cost (core/cost_basis.py)."""
from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from dashboard.core.cost_basis import BUY, SELL, Event

# Quantities and prices have up to 40 digits each; their product must never round silently.
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_ZERO = Decimal(0)


def settled_jpy(side: str, quantity: Decimal, price: Decimal, places: int) -> Decimal:
    """quantity × price in JPY to `places` decimals (JPY's: 0): what the customer pays is
    rounded up, what they receive rounded down — the exchange never pays out a fraction it
    did not get, nor charges less than the fill cost."""
    exact = _EXACT.multiply(quantity, price)
    rounding = decimal.ROUND_CEILING if side == BUY else decimal.ROUND_FLOOR
    return exact.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=decimal.Context(prec=200))


@dataclass(frozen=True)
class Fill:
    at: datetime
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_in_jpy: bool  # else the fee is in the crypto-asset
    jpy: Decimal  # settled_jpy of the fill

    def deltas(self) -> tuple[Decimal, Decimal]:
        """(change of the JPY balance, change of the crypto-asset's balance), signed. A buy pays
        the JPY and a JPY fee and receives the units less a fee in units; a sell the reverse."""
        jpy_fee = self.fee if self.fee_in_jpy else _ZERO
        unit_fee = _ZERO if self.fee_in_jpy else self.fee
        if self.side == BUY:
            return -_EXACT.add(self.jpy, jpy_fee), _EXACT.subtract(self.quantity, unit_fee)
        return _EXACT.subtract(self.jpy, jpy_fee), -_EXACT.add(self.quantity, unit_fee)

    def event(self) -> Event:
        """The fill for the acquisition cost. Fees belong to the cost (the NTA's FAQ): a buy
        acquires the units received (less a fee in units) for the JPY paid plus a JPY fee; a
        sell disposes of the units given (plus a fee in units) for the JPY received less a JPY
        fee."""
        jpy_change, unit_change = self.deltas()
        return Event(self.at, self.side, abs(unit_change), abs(jpy_change))


def fill_problems(side: str, quantity: Decimal, fee: Decimal, fee_in_jpy: bool, jpy: Decimal) -> list[str]:
    """What makes a fill impossible, whatever the balances: a buy whose fee in units leaves
    nothing, a sell whose JPY fee takes more than it fetches."""
    if side == BUY and not fee_in_jpy and fee >= quantity:
        return ["the fee in units is not less than the quantity bought"]
    if side == SELL and fee_in_jpy and fee > jpy:
        return [f"the JPY fee is more than the sale fetches ({jpy})"]
    return []
