"""The language switcher and the language prompt's three answers, each a plain form post."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.accounts.store import save_settings
from dashboard.core import language_choice as language
from dashboard.language.i18n import (
    CHOSEN_COOKIE,
    CHOSEN_NOW,
    LANGUAGE_COOKIE,
    PROMPT_COOKIE,
    is_signed_in,
    set_language_cookie,
)

bp = Blueprint("language", __name__, url_prefix="/language")


def _requested_language() -> str:
    lang = language.parse_language(request.form.get("lang"))
    if lang is None:
        # Never echo the value back: it is whatever the visitor (or an attacker) sent.
        abort(400, description=_("Choose English or Japanese."))
    return lang


def _back():
    return redirect(language.safe_return_path(request.form.get("next")), code=303)


def save_choice(response, lang: str) -> None:
    """The choice is kept in a cookie for this browser and on the account when signed in; being
    explicit, it also ends the prompt for good."""
    set_language_cookie(response, LANGUAGE_COOKIE, lang)
    if is_signed_in():
        save_settings(current_user.id, preferred_language=lang)
    else:
        set_language_cookie(response, CHOSEN_COOKIE, CHOSEN_NOW, persistent=False)


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
        # A browser session only; an earlier "never" (a form posted twice, say) is not weakened.
        if request.cookies.get(PROMPT_COOKIE) != language.NEVER:
            set_language_cookie(response, PROMPT_COOKIE, language.NOT_NOW, persistent=False)
    else:
        set_language_cookie(response, PROMPT_COOKIE, language.NEVER)
        if is_signed_in():
            save_settings(current_user.id, never_prompt_language=True)
    return response
