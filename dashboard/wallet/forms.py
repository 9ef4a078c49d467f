"""The wallet's forms for browsers without JavaScript: the "Show in header" and "Hide amounts" switches."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class HeaderPreferenceForm(FlaskForm):
    show_in_header = BooleanField(_l("Show in header"))


class DiscreetForm(FlaskForm):
    discreet = BooleanField(_l("Hide amounts"))
