"""A journal entry's reason in the page's language: codes the app writes are translated with
their parameters formatted for the locale; an operator's free text is shown as written."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from dashboard.core.formatting import amount, cut_decimal_zero, number
from dashboard.ledger import reasons


def describe(code: str | None, params: dict | None, text: str, *, locale: str, decimals: dict[str, int],
             hide_amounts: bool = False) -> str:
    """decimals maps currency codes to their decimal places (for the figures in a reason)."""
    params = params or {}
    if code == reasons.COMPENSATION:
        try:
            return _compensation(params, locale=locale, decimals=decimals, hide_amounts=hide_amounts)
        except (KeyError, ValueError, ArithmeticError):
            return text  # parameters not as this version writes them: the stored English text
    if code == reasons.BALANCE_IMPORT:
        return _("Balance import")
    if code == reasons.ADJUSTMENT:
        return _("Balance adjustment")
    if code == reasons.DEMO_SEED:
        return _("Opening balance")
    if code in (reasons.TRADE, reasons.TRANSFER):
        try:
            return _fill(code, params, locale=locale, decimals=decimals, hide_amounts=hide_amounts)
        except (KeyError, ValueError, ArithmeticError):
            return text
    if code == reasons.DEMO_ACTIVITY:
        kind = DEMO_KINDS_SAID.get(params.get("kind"))
        return kind() if kind else text
    return text


# The demo year's steps (ledger.reasons.DEMO_KINDS), said in the page's language as a customer
# reads real ones: no "Demo:" before them.
DEMO_KINDS_SAID = {
    "deposit": lambda: _("Deposit"),
    "trade": lambda: _("Trade"),
    "withdrawal requested": lambda: _("Withdrawal in progress"),
    "withdrawal": lambda: _("Withdrawal"),
    "orders placed": lambda: _("Orders placed"),
}


def _compensation(params: dict, *, locale: str, decimals: dict[str, int], hide_amounts: bool) -> str:
    name, currency = params["name"], params["currency"]
    if hide_amounts:
        return _("%(name)s compensation", name=name)
    rate, quantity = Decimal(params["rate"]), Decimal(params["quantity"])
    # The rate with every decimal it has (88.549, not 88.55); the quantity as the wallet writes it.
    rate_text = number(rate, max(0, -rate.as_tuple().exponent), locale=locale)
    quantity_text = cut_decimal_zero(amount(quantity, decimals.get(currency, 8), locale=locale), locale=locale)
    return _("%(name)s compensation: ¥%(rate)s × %(quantity)s %(code)s",
             name=name, rate=rate_text, quantity=quantity_text, code=currency.upper())


def _fill(code: str, params: dict, *, locale: str, decimals: dict[str, int], hide_amounts: bool) -> str:
    """A fill (bought or sold, at what price) or a move of a crypto-asset in or out."""
    currency = params["currency"]
    symbol = currency.upper()
    if code == reasons.TRANSFER:
        if params["direction"] == "in":
            return _("Deposit of %(code)s", code=symbol)
        return _("Withdrawal of %(code)s", code=symbol)
    buy = params["side"] == "buy"
    if hide_amounts:
        return _("Bought %(code)s", code=symbol) if buy else _("Sold %(code)s", code=symbol)
    price = Decimal(params["price"])
    price_text = number(price, max(0, -price.as_tuple().exponent), locale=locale)
    quantity_text = cut_decimal_zero(amount(Decimal(params["quantity"]), decimals.get(currency, 8), locale=locale), locale=locale)
    if buy:
        return _("Bought %(quantity)s %(code)s at ¥%(price)s", quantity=quantity_text, code=symbol, price=price_text)
    return _("Sold %(quantity)s %(code)s at ¥%(price)s", quantity=quantity_text, code=symbol, price=price_text)
