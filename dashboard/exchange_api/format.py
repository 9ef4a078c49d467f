"""The exchange's (Coincheck's) JSON shapes, built from plain values, so existing clients read ours.

GET /api/accounts/balance on the exchange answers, per currency code, the available amount
under the code and the amount in use (open orders, pending withdrawals) under `<code>_reserved`.
It also sends `<code>_lend_in_use`, `<code>_lent`, `<code>_debt` and `<code>_tsumitate`
(lending, borrowing and the savings plan). This wallet does not model lending, borrowing or
savings plans, so it leaves those out rather than claim a "0" it does not know: clients such
as ccxt read only the code and `_reserved` fields.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from dashboard.core.formatting import plain

__all__ = ["balance_fields"]


def balance_fields(balances: Iterable[tuple[str, Decimal, Decimal]]) -> dict:
    """{"success": true, code: available, code_reserved: in use, ...} as exact decimal strings."""
    fields: dict = {"success": True}
    for code, available, in_use in balances:
        fields[code] = plain(available)
        fields[f"{code}_reserved"] = plain(in_use)
    return fields
