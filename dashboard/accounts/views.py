"""Sign-in and sign-out; a signed-in browser is a row in login_sessions that sign-out deletes."""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.accounts.forms import EmptyForm, LoginForm
from dashboard.core import language_choice as language
from dashboard.extensions import db, limiter, login
from dashboard.models import Account, LoginSession, normalize_email
from dashboard.read_path.signed_in import load_signed_in

bp = Blueprint("auth", __name__)

# Checked when the email is unknown so a wrong email costs as long as a wrong password
# and the response time does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


login.user_loader(load_signed_in)


# Only sign-in and the signed exchange API carry limits. The pages a signed-in browser reads
# most often are let through before Flask-Limiter looks for limits that do not exist, which it
# otherwise does on every request (a tenth of a wallet request's own work).
UNTHROTTLED_ENDPOINTS = frozenset({"wallet.index", "api.balance", "static"})


@limiter.request_filter
def _has_no_limits() -> bool:
    return request.endpoint in UNTHROTTLED_ENDPOINTS


@login.unauthorized_handler
def sign_in_first():
    if request.path.startswith("/api/"):
        from dashboard.errors import render_error

        return render_error(401, _("Sign in to see your balances."))
    return redirect(url_for("auth.login_page", next=language.safe_return_path(request.full_path.rstrip("?"))))


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _too_many_attempts() -> str:
    return _("Too many sign-in attempts. Please wait and try again.")


def _submitted_email() -> str:
    # Throttled per account as well as per address, so spreading guesses over many
    # addresses does not help against one account.
    return "login-account:" + normalize_email(request.form.get("email", ""))[:254]


def authenticate(email: str, password: str) -> Account | None:
    account = db.session.execute(select(Account).where(Account.email == normalize_email(email))).scalar_one_or_none()
    if account is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return account if account.check_password(password) else None


def start_session(account: Account) -> None:
    # A fresh session on sign-in: nothing set before it (by an attacker, say) survives.
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token_hash=LoginSession.hash_token(token), account_id=account.id))
    db.session.commit()
    account.session_token = token
    login_user(account)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=_too_many_attempts)
@limiter.limit(_login_limit, methods=["POST"], key_func=_submitted_email, error_message=_too_many_attempts)
def login_page():
    next_path = language.safe_return_path(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path)
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            account = authenticate(form.email.data, form.password.data)
            if account is not None:
                start_session(account)
                return redirect(next_path)
            form.form_errors.append(_("Incorrect email or password."))
            status = 401
        else:
            status = 400
    return render_template("accounts/login.html", form=form, next_path=next_path), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        token = current_user.session_token
        db.session.execute(LoginSession.__table__.delete().where(LoginSession.token_hash == LoginSession.hash_token(token)))
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("You have signed out."))
    return redirect(url_for("auth.login_page"))
