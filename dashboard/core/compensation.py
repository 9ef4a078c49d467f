"""What a holder is owed: quantity × rate in whole yen, rounded by a named rule, exactly."""
from __future__ import annotations

import decimal
from decimal import Decimal

# The rule names the operator types (`--rounding`) and the plan records.
ROUNDING_RULES = {"down": decimal.ROUND_DOWN, "half-up": decimal.ROUND_HALF_UP}
DEFAULT_ROUNDING = "down"

# Quantities and rates have up to 40 digits each: their product, and the sums of a quarter of a
# million of them, must never round silently (Inexact is trapped). Use with decimal.localcontext.
EXACT = _EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_YEN = Decimal(1)


def owed_jpy(quantity: Decimal, rate: Decimal, rounding: str) -> tuple[Decimal, Decimal]:
    """The whole yen owed for `quantity` units at `rate` JPY each, and what the rounding took
    away (negative when half-up rounded up)."""
    if rounding not in ROUNDING_RULES:
        raise ValueError(f"unknown rounding rule {rounding!r}; use one of: {', '.join(ROUNDING_RULES)}")
    exact = _EXACT.multiply(quantity, rate)
    jpy = exact.quantize(_YEN, rounding=ROUNDING_RULES[rounding], context=decimal.Context(prec=200))
    return jpy, _EXACT.subtract(exact, jpy)
