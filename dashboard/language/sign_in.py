"""At sign-in, the browser and the account agree on the language: what either chose holds for both."""
from __future__ import annotations

from flask import after_this_request, request
from flask_login import user_logged_in

from dashboard.accounts.store import save_settings
from dashboard.core import language_choice as language
from dashboard.language.i18n import CHOSEN_COOKIE, CHOSEN_NOW, LANGUAGE_COOKIE, PROMPT_COOKIE, set_language_cookie


def carry_choices_over(_app, user, **_extra) -> None:
    """The most recent explicit choice wins: a language chosen in this browser session before
    signing in (switcher, "Yes") replaces the account's; an older cookie only fills an account
    that has none, and otherwise the account's language is written into this browser (a cookie
    may be another person's). "Never" from either side holds for both."""
    chosen = language.language_at_sign_in(
        browser=request.cookies.get(LANGUAGE_COOKIE),
        chosen_just_now=request.cookies.get(CHOSEN_COOKIE) == CHOSEN_NOW,
        account=user.preferred_language,
    )
    browser_never = request.cookies.get(PROMPT_COOKIE) == language.NEVER
    account_never = bool(user.never_prompt_language)

    settings = {}
    if chosen.save_on_account is not None:
        settings["preferred_language"] = chosen.save_on_account
    if browser_never and not account_never:
        settings["never_prompt_language"] = True
    if settings:
        save_settings(user.id, **settings)

    @after_this_request
    def write_account_choices(response):
        if chosen.write_in_browser is not None:
            set_language_cookie(response, LANGUAGE_COOKIE, chosen.write_in_browser)
        if CHOSEN_COOKIE in request.cookies:
            response.delete_cookie(CHOSEN_COOKIE)
        if account_never and not browser_never:
            set_language_cookie(response, PROMPT_COOKIE, language.NEVER)
        return response


def init_app(app) -> None:
    user_logged_in.connect(carry_choices_over, app)
