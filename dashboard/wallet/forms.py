"""The wallet's one form: the "Show in header" switch for browsers without JavaScript."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class HeaderPreferenceForm(FlaskForm):
    show_in_header = BooleanField(_l("Show in header"))
