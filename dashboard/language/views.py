"""The language switcher and the language prompt's three answers, each a plain form post."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.accounts.store import save_settings
from dashboard.core import language_choice as language
from dashboard.language.i18n import COOKIE_MAX_AGE, LANGUAGE_COOKIE, PROMPT_COOKIE, PROMPT_SESSION_KEY, is_signed_in

bp = Blueprint("language", __name__, url_prefix="/language")


def _requested_language() -> str:
    lang = language.parse_language(request.form.get("lang"))
    if lang is None:
        # Never echo the value back: it is whatever the visitor (or an attacker) sent.
        abort(400, description=_("Choose English or Japanese."))
    return lang


def _back():
    return redirect(language.safe_return_path(request.form.get("next")), code=303)


def _set_cookie(response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )


def save_choice(response, lang: str) -> None:
    """The choice is kept in a cookie for this browser and on the account when signed in."""
    _set_cookie(response, LANGUAGE_COOKIE, lang)
    if is_signed_in():
        save_settings(current_user.id, preferred_language=lang)


@bp.post("/")
def choose():
    lang = _requested_language()
    response = _back()
    save_choice(response, lang)
    return response


@bp.post("/prompt")
def prompt():
    answer = request.form.get("answer")
    if answer not in ("yes", "no", "never"):
        abort(400, description=_("Answer yes, no or never."))
    response = _back()
    if answer == "yes":
        save_choice(response, _requested_language())
    elif answer == "no":
        session[PROMPT_SESSION_KEY] = True
    else:
        _set_cookie(response, PROMPT_COOKIE, "never")
        if is_signed_in():
            save_settings(current_user.id, never_prompt_language=True)
    return response
