"""Sign-in and sign-out; a signed-in browser is a row in login_sessions that sign-out deletes.

Sign-in is one or two steps: the password, then (when the account has a second factor) an
authenticator code, a recovery code or a passkey. A passkey alone also signs in. Every path
ends in complete_sign_in, and every attempt is throttled by throttle.py.
"""
from __future__ import annotations

import time

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.accounts import (
    authenticator,
    confirmation,
    device_cookie,
    passkeys,
    second_step_warning,
    security_events,
    throttle,
)
from dashboard.accounts.forms import EmptyForm, LoginForm, SecondStepForm
from dashboard.accounts.sessions import end_session, open_session
from dashboard.core import language_choice as language
from dashboard.errors import answers_json, render_error, wants_json
from dashboard.extensions import db, login
from dashboard.metrics import SIGN_INS
from dashboard.models import Account, normalize_email
from dashboard.read_path.signed_in import load_signed_in

bp = Blueprint("auth", __name__)

# Checked when the email is unknown so a wrong email costs as long as a wrong password
# and the response time does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
# How long the second step may wait after the password was right.
PENDING_SECONDS = 300


login.user_loader(load_signed_in)


@login.unauthorized_handler
def sign_in_first():
    if wants_json():
        return render_error(401, _("Sign in to see your balances.") if request.path.startswith("/api/") else None)
    return redirect(url_for("auth.login_page", next=language.safe_return_path(request.full_path.rstrip("?"))))


def _too_many_attempts(refusal: throttle.Refusal, template: str | None, message: str | None = None, **context):
    message = message or _("Too many sign-in attempts. Please wait and try again.")
    if request.is_json or template is None:
        response = jsonify({"success": False, "error": message})
    else:
        context["form"].form_errors.append(message)
        response = render_template(template, **context)
    return response, 429, {"Retry-After": str(refusal.retry_after)}


def authenticate(email: str, password: str) -> Account | None:
    account = db.session.execute(select(Account).where(Account.email == normalize_email(email))).scalar_one_or_none()
    if account is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return account if account.check_password(password) else None


def has_second_factor(account_id: int) -> bool:
    return authenticator.is_enabled(account_id) or passkeys.has_passkeys(account_id)


def start_session(account: Account) -> None:
    # A fresh session on sign-in: nothing set before it (by an attacker, say) survives.
    session.clear()
    account.session_token = open_session(account.id)
    login_user(account)


def complete_sign_in(account_id: int, next_path: str):
    """Every way of signing in ends here: a new session, and this browser's device cookie; and
    a warning if someone failed the second step since the account last signed in."""
    account = db.session.get(Account, account_id)
    since = security_events.last_of(account.id, "signed_in", "password_changed")
    failures = security_events.second_step_failures(account.id, after=since)
    security_events.record(account.id, "signed_in")  # committed with the new session's row
    start_session(account)
    if failures.count:  # after start_session, whose fresh session would drop it
        flash(second_step_warning.sign_in_message(failures), "warning")
    confirmation.confirmed()  # signing in is proving it: the Security page's changes need no second password now
    response = redirect(next_path)
    device_cookie.issue(response, account.email)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login_page():
    next_path = language.safe_return_path(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path)
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            email = normalize_email(form.email.data)
            attempt, refusal = throttle.begin_attempt(email)
            if refusal is not None:
                SIGN_INS.labels("throttled").inc()
                return _too_many_attempts(refusal, "accounts/login.html", form=form, next_path=next_path)
            account = authenticate(email, form.password.data)
            if account is not None:
                attempt.succeeded()
                if not has_second_factor(account.id):
                    SIGN_INS.labels("success").inc()
                    return complete_sign_in(account.id, next_path)
                session.clear()
                session["pending_sign_in"] = {"account": account.id, "email": account.email, "at": int(time.time()), "next": next_path}
                return redirect(url_for("auth.second_step"))
            SIGN_INS.labels("bad_password").inc()
            form.form_errors.append(_("Incorrect email or password."))
            status = 401
        else:
            status = 400
    return render_template("accounts/login.html", form=form, next_path=next_path), status


def _pending() -> dict | None:
    pending = session.get("pending_sign_in")
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int):
        return None
    if time.time() - pending["at"] > PENDING_SECONDS:
        session.pop("pending_sign_in", None)
        return None
    return pending


@bp.route("/login/verify", methods=["GET", "POST"])
def second_step():
    pending = _pending()
    if pending is None:
        flash(_("Sign in again: the second step waited too long or was not started."))
        return redirect(url_for("auth.login_page"))
    account_id = pending["account"]
    form = SecondStepForm()
    status = 200
    context = {"form": form, "has_authenticator": authenticator.is_enabled(account_id),
               "has_passkeys": passkeys.has_passkeys(account_id)}
    if request.method == "POST":
        if form.validate_on_submit():
            attempt, refusal = throttle.begin_second_step(pending["email"], account_id)
            if refusal is not None:
                SIGN_INS.labels("throttled").inc()
                return _too_many_attempts(refusal, "accounts/second_step.html", _second_step_refusal(refusal), **context)
            code = form.code.data.strip()
            accepted = (authenticator.is_enabled(account_id) and authenticator.accept_code(account_id, code)) \
                if authenticator.is_code_shaped(code) else authenticator.use_recovery_code(account_id, code)
            if accepted:
                attempt.succeeded()
                SIGN_INS.labels("success").inc()
                response = complete_sign_in(account_id, pending["next"])
                if not authenticator.is_code_shaped(code):  # after sign-in, whose fresh session would drop it
                    flash(_("You used a recovery code. It cannot be used again; you have %(count)d left.",
                            count=authenticator.remaining_recovery_codes(account_id)))
                return response
            SIGN_INS.labels("second_step_failed").inc()
            _second_step_failed(account_id)
            form.form_errors.append(_("That code is not valid. Check it and try again."))
            status = 401
        else:
            status = 400
    return render_template("accounts/second_step.html", **context), status


def _second_step_failed(account_id: int) -> None:
    """Logged for the account's Security page and its next sign-in (second_step_warning.py)."""
    security_events.record(account_id, "second_step_failed")
    db.session.commit()


def _second_step_refusal(refusal: throttle.Refusal) -> str | None:
    if not refusal.second_step_locked:
        return None  # this address or device is over its own limit: the usual message
    return _("Too many wrong codes for this account. Two-step verification is locked for %(minutes)d minute(s); "
             "please wait and try again.", minutes=max(1, -(-refusal.retry_after // 60)))


@bp.post("/login/passkey/options")
@answers_json
def passkey_options():
    """The challenge for "Sign in with a passkey", or for a passkey as the second step."""
    pending = _pending() if request.args.get("step") == "second" else None
    if request.args.get("step") == "second" and pending is None:
        return jsonify({"success": False, "error": _("Sign in again: the second step waited too long or was not started.")}), 400
    return passkeys.authentication_options(pending["account"] if pending else None), 200, {"Content-Type": "application/json"}


@bp.post("/login/passkey")
@answers_json
def passkey_sign_in():
    second = request.args.get("step") == "second"
    pending = _pending() if second else None
    if second and pending is None:
        return jsonify({"success": False, "error": _("Sign in again: the second step waited too long or was not started.")}), 400
    if pending:
        attempt, refusal = throttle.begin_second_step(pending["email"], pending["account"])
        message = None if refusal is None else _second_step_refusal(refusal)
    else:
        (attempt, refusal), message = throttle.begin_address_attempt(), None
    if refusal is not None:
        SIGN_INS.labels("throttled").inc()
        return _too_many_attempts(refusal, None, message)
    try:
        account_id = passkeys.authenticate(passkeys.parse_credential(request.get_data(cache=False)),
                                           pending["account"] if pending else None)
    except passkeys.PasskeyError:
        # A passkey is the second step, or the whole sign-in (no password to get wrong).
        SIGN_INS.labels("second_step_failed" if second else "bad_password").inc()
        if pending:
            _second_step_failed(pending["account"])
        return jsonify({"success": False, "error": _("That passkey could not be checked. Please try again.")}), 401
    attempt.succeeded()
    SIGN_INS.labels("success").inc()
    next_path = pending["next"] if pending else language.safe_return_path(request.args.get("next"))
    response = complete_sign_in(account_id, next_path)
    # The script follows the redirect itself; the cookies are set on this response.
    response.status_code = 200
    response.set_data(jsonify({"success": True, "redirect": next_path}).get_data())
    response.mimetype = "application/json"
    response.headers.pop("Location", None)
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        end_session(current_user.session_token)
        logout_user()
        session.clear()
        flash(_("You have signed out."))
    return redirect(url_for("auth.login_page"))
