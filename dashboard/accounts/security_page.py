"""The Security page (/security): second factors, the account's sessions, the password.

Changing the password or a factor signs every other browser of the account out. Adding a factor
or removing a passkey needs a recent confirmation (confirmation.py); turning the authenticator
off, new recovery codes and a new password ask for the password itself. Every password typed
here is counted like a sign-in attempt.
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import update

from dashboard.accounts import (
    authenticator,
    confirmation,
    devices,
    passkeys,
    second_step_warning,
    security_events,
    throttle,
)
from dashboard.accounts.forms import ChangePasswordForm, CodeForm, EmptyForm, PasskeyNameForm, PasswordConfirmForm
from dashboard.accounts.sessions import end_one_session, end_other_sessions, sessions_of
from dashboard.core import language_choice as language
from dashboard.core.language_choice import format_moment
from dashboard.errors import answers_json, render_error
from dashboard.extensions import db
from dashboard.models import Account, LoginSession, hash_password

bp = Blueprint("security", __name__, url_prefix="/security")


@bp.before_request
@login_required
def _signed_in_only():
    return None


def _password_is_right(field) -> bool:
    """Checks the typed password, counted like a sign-in attempt; the outcome is kept on the
    field for _password_refusal."""
    field.outcome = confirmation.check_password(field.data)
    return field.outcome is True


def _password_refusal(field) -> tuple[int, dict]:
    """Marks the password field as refused; the status and headers to answer with: 429 and
    Retry-After when the check was throttled, 400 otherwise."""
    outcome = getattr(field, "outcome", None)
    if isinstance(outcome, throttle.Refusal):
        field.errors = [_("Too many sign-in attempts. Please wait and try again.")]
        return 429, {"Retry-After": str(outcome.retry_after)}
    if outcome is False:
        field.errors = [_("Incorrect password.")]
    return 400, {}


def _refuse_password(field, **forms):
    status, headers = _password_refusal(field)
    body, _status = _page(status, **forms)
    return body, status, headers


def _changed(kind: str) -> None:
    """A change to how the account signs in: logged, and every other browser signed out (one commit)."""
    security_events.record(current_user.id, kind)
    end_other_sessions(current_user.id, current_user.session_token)


def format_time(moment) -> str:
    return format_moment(moment, str(get_locale()), current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _page(status: int = 200, **forms):
    account_id = current_user.id
    context = {
        "authenticator_on": authenticator.is_enabled(account_id),
        "setup_secret": authenticator.pending_secret(account_id),
        "recovery_codes_left": authenticator.remaining_recovery_codes(account_id),
        "passkeys": passkeys.passkeys_of(account_id),
        "sessions": sessions_of(account_id),
        "all_sessions": request.args.get("sessions") == "all",
        "sessions_shown": SESSIONS_SHOWN,
        "this_session": LoginSession.hash_token(current_user.session_token),
        "code_form": forms.get("code_form") or CodeForm(formdata=None),
        "disable_form": forms.get("disable_form") or PasswordConfirmForm(formdata=None, prefix="disable"),
        "codes_form": forms.get("codes_form") or PasswordConfirmForm(formdata=None, prefix="codes"),
        "password_form": forms.get("password_form") or ChangePasswordForm(formdata=None),
        "name_form": PasskeyNameForm(formdata=None),
        "empty_form": EmptyForm(),
        "format_time": format_time,
        "browser_and_system": devices.browser_and_system,
        "events": security_events.recent(account_id),
        "event_names": security_events.KINDS,
        "second_step_warning": second_step_warning.for_security_page(account_id),
    }
    if context["setup_secret"]:
        uri = authenticator.provisioning_uri(context["setup_secret"], current_user.email)
        context["setup_qr"] = authenticator.qr_svg(uri, _("QR code to scan with your authenticator app"))
        context["setup_key_grouped"] = authenticator.grouped_key(context["setup_secret"])
    return render_template("accounts/security.html", **context), status


@bp.get("")
def index():
    return _page()


def _show_recovery_codes(codes: list[str]):
    return render_template("accounts/recovery_codes.html", codes=codes)


@bp.route("/confirm", methods=["GET", "POST"])
def confirm():
    """The password again, before a change that needs a recent confirmation; then back."""
    back_to = language.safe_return_path(request.values.get("next"), default=url_for("security.index"))
    form = PasswordConfirmForm(prefix="confirm")
    status, headers = 200, {}
    if request.method == "POST":
        if form.validate_on_submit() and _password_is_right(form.password):
            confirmation.confirmed()
            return redirect(back_to)
        status, headers = _password_refusal(form.password)
    return render_template("accounts/confirm.html", form=form, next_path=back_to), status, headers


@bp.post("/authenticator/start")
@confirmation.required("security.index#authenticator")
def start_authenticator():
    if EmptyForm().validate_on_submit() and not authenticator.is_enabled(current_user.id):
        authenticator.start_setup(current_user.id)
    return redirect(url_for("security.index") + "#authenticator")


@bp.post("/authenticator/enable")
@confirmation.required("security.index#authenticator")
def enable_authenticator():
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(400, code_form=form)
    if not authenticator.enable(current_user.id, form.code.data.strip()):
        form.code.errors = [_("That code is not valid. Check the time on your phone and try again.")]
        return _page(400, code_form=form)
    _changed("authenticator_on")
    flash(_("Authenticator codes are on. Keep these recovery codes somewhere safe."))
    return _show_recovery_codes(authenticator.new_recovery_codes(current_user.id))


@bp.post("/authenticator/disable")
def disable_authenticator():
    form = PasswordConfirmForm(prefix="disable")
    if not form.validate_on_submit() or not _password_is_right(form.password):
        return _refuse_password(form.password, disable_form=form)
    authenticator.disable(current_user.id)
    _changed("authenticator_off")
    flash(_("Authenticator codes are off."))
    return redirect(url_for("security.index"))


@bp.post("/recovery-codes")
def new_recovery_codes():
    form = PasswordConfirmForm(prefix="codes")
    if not form.validate_on_submit() or not authenticator.is_enabled(current_user.id) or not _password_is_right(form.password):
        return _refuse_password(form.password, codes_form=form)
    _changed("recovery_codes_new")
    flash(_("New recovery codes: the old ones no longer work."))
    return _show_recovery_codes(authenticator.new_recovery_codes(current_user.id))


@bp.post("/passkeys/options")
@answers_json
@confirmation.required("security.index#passkeys")
def passkey_options():
    return passkeys.registration_options(current_user.id, current_user.email), 200, {"Content-Type": "application/json"}


@bp.post("/passkeys")
@answers_json
@confirmation.required("security.index#passkeys")
def add_passkey():
    try:
        credential = passkeys.parse_credential(request.get_data(cache=False))
        name = credential.pop("name", None)
        form = PasskeyNameForm(formdata=None, data={"name": name if isinstance(name, str) else ""}, meta={"csrf": False})
        if not form.validate():
            return jsonify({"success": False, "error": next(iter(form.errors.values()))[0]}), 400
        passkeys.register(current_user.id, credential, form.name.data.strip())
    except passkeys.PasskeyError:
        return jsonify({"success": False, "error": _("The passkey could not be added. Please try again.")}), 400
    _changed("passkey_added")
    flash(_("Passkey added."))
    return jsonify({"success": True, "redirect": url_for("security.index")})


def _passkey_id() -> int | None:
    # In the form, not the URL: no route names anything of an account (tests/security).
    raw = request.form.get("passkey", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@bp.post("/passkeys/name")
def rename_passkey():
    form = PasskeyNameForm()
    passkey_id = _passkey_id()
    if form.validate_on_submit() and passkey_id is not None and passkeys.rename(current_user.id, passkey_id, form.name.data.strip()):
        flash(_("Passkey renamed."))
    elif form.errors:
        flash(next(iter(form.errors.values()))[0])
    return redirect(url_for("security.index") + "#passkeys")


@bp.post("/passkeys/remove")
@confirmation.required("security.index#passkeys")
def remove_passkey():
    passkey_id = _passkey_id()
    if EmptyForm().validate_on_submit() and passkey_id is not None and passkeys.remove(current_user.id, passkey_id):
        _changed("passkey_removed")
        flash(_("Passkey removed."))
    return redirect(url_for("security.index") + "#passkeys")


# The latest sessions the page lists unless asked for all of them (?sessions=all).
SESSIONS_SHOWN = 10
_TOKEN_HASH = re.compile(r"[0-9a-f]{64}")


@bp.post("/sessions/end")
def end_session_elsewhere():
    """Signs one other browser out (a row's "Sign out" button)."""
    token_hash = request.form.get("session", "")
    if not EmptyForm().validate_on_submit() or not _TOKEN_HASH.fullmatch(token_hash):
        return render_error(400, _("The form could not be read. Please try again."))
    if end_one_session(current_user.id, token_hash, current_user.session_token):
        security_events.record(current_user.id, "signed_out_elsewhere")
        flash(_("That browser is signed out."))
    else:
        flash(_("That browser was already signed out."))
    return redirect(url_for("security.index") + "#sessions")


@bp.post("/sessions/end-others")
def end_others():
    if EmptyForm().validate_on_submit():
        security_events.record(current_user.id, "signed_out_elsewhere")
        count = end_other_sessions(current_user.id, current_user.session_token)
        flash(_("Signed out everywhere else (%(count)d session(s)).", count=count))
    return redirect(url_for("security.index") + "#sessions")


@bp.post("/password")
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(400, password_form=form)
    if not _password_is_right(form.current_password):
        return _refuse_password(form.current_password, password_form=form)
    db.session.execute(update(Account).where(Account.id == current_user.id).values(password_hash=hash_password(form.new_password.data)))
    _changed("password_changed")
    flash(_("Password changed. Every other browser has been signed out."))
    return redirect(url_for("security.index"))
