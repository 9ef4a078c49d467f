"""The API keys page's form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import Length


class ApiKeyForm(FlaskForm):
    read_balances = BooleanField(_l("Read balances"), default=True)
    allowed_addresses = TextAreaField(
        _l("Allowed client addresses (optional)"),
        validators=[Length(max=4000, message=_l("That list of addresses is too long."))],
    )
