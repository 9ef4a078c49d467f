"""The wallet's one form: a switch ("Show in header", "Hide zero balances", "Hide amounts") for
browsers without JavaScript. Only its CSRF token is read through WTForms: the switch's value is
checked by the view, which knows the field's name."""
from __future__ import annotations

from flask_wtf import FlaskForm


class SwitchForm(FlaskForm):
    pass
