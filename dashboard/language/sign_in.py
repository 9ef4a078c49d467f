"""At sign-in, the browser and the account agree on the language: what either chose holds for both."""
from __future__ import annotations

from flask import after_this_request, request
from flask_login import user_logged_in

from dashboard.accounts.store import save_settings
from dashboard.core import language_choice as language
from dashboard.language.i18n import LANGUAGE_COOKIE, PROMPT_COOKIE, set_language_cookie


def carry_choices_over(_app, user, **_extra) -> None:
    """A choice made in this browser before signing in (switcher, "Yes", "Never") is saved on an
    account that has none yet; the account's saved language and "never" are written into this
    browser, so signing out later neither changes the page's language nor brings the prompt back.
    Where both chose a language, the account's wins (a cookie may be another person's)."""
    browser_language = language.parse_language(request.cookies.get(LANGUAGE_COOKIE))
    browser_never = request.cookies.get(PROMPT_COOKIE) == language.NEVER
    account_language = language.parse_language(user.preferred_language)
    account_never = bool(user.never_prompt_language)

    settings = {}
    if account_language is None and browser_language is not None:
        settings["preferred_language"] = browser_language
    if browser_never and not account_never:
        settings["never_prompt_language"] = True
    if settings:
        save_settings(user.id, **settings)

    @after_this_request
    def write_account_choices(response):
        if account_language is not None and account_language != browser_language:
            set_language_cookie(response, LANGUAGE_COOKIE, account_language)
        if account_never and not browser_never:
            set_language_cookie(response, PROMPT_COOKIE, language.NEVER)
        return response


def init_app(app) -> None:
    user_logged_in.connect(carry_choices_over, app)
