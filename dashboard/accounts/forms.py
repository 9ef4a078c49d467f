"""Sign-in forms; WTForms validates, Flask-WTF adds the CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

# Control characters never belong in an email address (and PostgreSQL text refuses NUL).
NO_CONTROL_CHARACTERS = Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("The email address contains characters that are not allowed."))

# Generous but bounded: nothing legitimate is longer, and a 1 MB field is refused early.
MAX_EMAIL = 254
MAX_PASSWORD = 1024


class LoginForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=MAX_EMAIL, message=_l("That email address is too long.")), NO_CONTROL_CHARACTERS])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD, message=_l("That password is too long."))])


class EmptyForm(FlaskForm):
    """A form that carries only the CSRF token (sign-out, language buttons, revoking a key)."""
