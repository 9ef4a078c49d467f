"""The source's filter names work in Jinja, in the page's locale, as the source template uses them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask import render_template_string
from flask_babel import force_locale


@pytest.mark.parametrize(
    "value, template, expected",
    [
        (Decimal("1234"), "¥ {{ v | number(1) | cut_decimal_zero }}", "¥ 1,234"),
        (Decimal("1234567.89"), "¥ {{ v | number(1) | cut_decimal_zero }}", "¥ 1,234,567.9"),
        (Decimal("1234.50"), "¥ {{ v | number | cut_decimal_zero }}", "¥ 1,234.5"),
        (Decimal("0.05"), "{{ v | number(1) }}", "0.1"),
        (Decimal("-1234.56789"), "{{ v | number(4) }}", "-1,234.5679"),
        (Decimal("1234.56789"), "{{ v | number }}", "1,234.568"),
        (None, "[{{ v | number | cut_decimal_zero }}]", "[]"),
        ("abc", "[{{ v | number }}]", "[]"),
        (Decimal("0.12345678"), "{{ v | amount(8) }}", "0.12345678"),
    ],
)
@pytest.mark.parametrize("locale", ["ja", "en"])
def test_filters_in_templates(app, value, template, expected, locale):
    with app.test_request_context(), force_locale(locale):
        assert render_template_string(template, v=value) == expected
