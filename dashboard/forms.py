"""Form definitions; WTForms validates, Flask-WTF adds the CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

# Control characters never belong in an email address (and PostgreSQL text refuses NUL).
NO_CONTROL_CHARACTERS = Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("The email address contains characters that are not allowed."))

# Generous but bounded: nothing legitimate is longer, and a 1 MB field is refused early.
MAX_EMAIL = 254
MAX_PASSWORD = 1024


class LoginForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=MAX_EMAIL, message=_l("That email address is too long.")), NO_CONTROL_CHARACTERS])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD, message=_l("That password is too long."))])


class HeaderPreferenceForm(FlaskForm):
    show_in_header = BooleanField(_l("Show in header"))


class EmptyForm(FlaskForm):
    """A form that carries only the CSRF token (sign-out, language buttons)."""


class ApiKeyForm(FlaskForm):
    read_balances = BooleanField(_l("Read balances"), default=True)
    allowed_addresses = TextAreaField(
        _l("Allowed client addresses (optional)"),
        validators=[Length(max=4000, message=_l("That list of addresses is too long."))],
    )
