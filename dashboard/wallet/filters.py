"""The source page's number filters, registered for Jinja under the source's own names."""
from __future__ import annotations

from flask_babel import get_locale

from dashboard.core import formatting


def _locale():
    return str(get_locale() or "en")


def number(value, fraction_size=None):
    return formatting.number(value, fraction_size, locale=_locale())


def cut_decimal_zero(text):
    return formatting.cut_decimal_zero(text)


def amount(value, decimals):
    return formatting.amount(value, decimals, locale=_locale())


def init_app(app) -> None:
    app.add_template_filter(number, "number")
    app.add_template_filter(cut_decimal_zero, "cut_decimal_zero")
    app.add_template_filter(amount, "amount")
