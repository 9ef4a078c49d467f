"""Sign-in forms; WTForms validates, Flask-WTF adds the CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from dashboard.core.typed_names import code_points, hidden_controls_in

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


class SecondStepForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code from your authenticator app, or a recovery code.")),
                                              Length(max=64, message=_l("That code is too long.")),
                                              Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("The code contains characters that are not allowed."))])


class CodeForm(FlaskForm):
    """Turning the authenticator on: the code it shows now."""

    code = StringField(_l("Code from the app"), validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app.")),
                                                           Regexp(r"^\s*[0-9]{6}\s*$", message=_l("The code is 6 digits."))])


class PasswordConfirmForm(FlaskForm):
    """A sensitive change asks for the password again, so an unattended browser cannot make it."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD, message=_l("That password is too long."))])


def no_hidden_controls(_form, field) -> None:
    """Refuses the characters that make a name show as another (core/typed_names.py)."""
    found = hidden_controls_in(field.data or "")
    if found:
        raise ValidationError(_l("The name contains characters that change how text is shown or break it across lines "
                                 "(%(characters)s). Type the name without them.", characters=code_points(found)))


class PasskeyNameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the passkey a name.")), Length(max=64, message=_l("The name can be at most 64 characters.")),
                                              Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("The name contains characters that are not allowed.")),
                                              no_hidden_controls])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD, message=_l("That password is too long."))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password.")),
                                                                Length(min=8, max=MAX_PASSWORD, message=_l("The new password must have 8 to 1,024 characters."))])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(_l("Enter the new password again.")),
                                                                  EqualTo("new_password", message=_l("The two new passwords differ."))])
