"""Recent confirmation: the changes that would let whoever holds a signed-in browser keep the
account after its owner signs out (adding a passkey or an authenticator app, removing a passkey,
creating an API key) ask for the password typed in this browser within the last
CONFIRM_SECONDS, as GitHub's "sudo mode" does. Signing in counts as a confirmation.

Every password typed on a signed-in page (here, and where a change asks for it directly) is
checked through the sign-in throttle, on the account's buckets: a taken-over browser is no
better place to guess the password from than the sign-in page.

The moment is kept in the signed session cookie, which sign-in clears, so a confirmation never
outlives the sign-in it was made in.
"""
from __future__ import annotations

import functools
import time

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.accounts import throttle
from dashboard.errors import wants_json
from dashboard.extensions import db
from dashboard.models import Account

SESSION_KEY = "confirmed_at"


def confirmed() -> None:
    """This browser's user has just proved the password (or signed in)."""
    session[SESSION_KEY] = int(time.time())


def is_recent() -> bool:
    at = session.get(SESSION_KEY)
    # A clock set back (or a forged value, which the signature rules out) is no confirmation.
    return isinstance(at, int) and 0 <= time.time() - at <= current_app.config["CONFIRM_SECONDS"]


def check_password(password: str) -> bool | throttle.Refusal:
    """Whether `password` is the signed-in account's, counted like a sign-in attempt: a
    Refusal instead while the account (or this browser) is over the sign-in limit."""
    attempt, refusal = throttle.begin_attempt(current_user.email)
    if refusal is not None:
        return refusal
    account = db.session.get(Account, current_user.id)
    if account is None or not account.check_password(password):
        return False
    attempt.succeeded()
    return True


def required(back_to: str):
    """A view decorator: without a recent confirmation the change is not made. A form is sent to
    the confirmation page, which comes back to `back_to` (an endpoint, with #anchor allowed);
    a script's request gets 403 with that page's address to go to."""
    endpoint, _hash, anchor = back_to.partition("#")

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if is_recent():
                return view(*args, **kwargs)
            message = _("Confirm your password to make this change.")
            page = url_for("security.confirm", next=url_for(endpoint) + (f"#{anchor}" if anchor else ""))
            flash(message)  # shown on the confirmation page, whichever way the browser gets there
            if request.is_json or request.accept_mimetypes.best == "application/json" or wants_json():
                return jsonify({"success": False, "error": message, "redirect": page}), 403
            return redirect(page)

        return guarded

    return decorate
