"""Flask glue for languages: which locale a request is in, and what the language prompt shows."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import current_app, g, request
from flask_babel import get_locale, get_translations
from flask_login import current_user

from dashboard.core import language_choice as language
from dashboard.extensions import babel
from dashboard.language.catalogues import check_catalogues

# dashboard/translations, beside the areas (package data once installed).
TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"

LANGUAGE_COOKIE = "lang"               # the visitor's explicit choice: "ja" or "en"
PROMPT_COOKIE = "lang_prompt"          # "never" (kept 400 days) or "no" (until the browser closes)
# Set (until the browser closes) when a language is chosen while signed out: at sign-in that
# choice is the most recent one and replaces the account's (language/sign_in.py).
CHOSEN_COOKIE, CHOSEN_NOW = "lang_chosen", "1"
COOKIE_MAX_AGE = 400 * 24 * 3600       # the longest lifetime browsers accept
# Blueprints that answer programs (no cookies, no prompt): their language is the request's header.
PROGRAM_BLUEPRINTS = "dashboard_language_from_header"


def is_signed_in() -> bool:
    """Whether a signed-in account is making this request, without touching a database that
    has just been found unavailable (the 503 page must still render)."""
    if g.get("database_down"):
        return False
    return current_user.is_authenticated


def _account_language() -> language.AccountLanguage | None:
    if not is_signed_in():
        return None
    return language.AccountLanguage(current_user.preferred_language, bool(current_user.never_prompt_language))


def language_choice() -> language.LanguageChoice:
    """This request's page language and prompt, decided once per request."""
    if "language_choice" not in g:
        setting = current_app.config["BROWSER_LANGUAGE"]
        if request.blueprint in current_app.extensions.get(PROGRAM_BLUEPRINTS, ()):
            setting = language.FOLLOW
        g.language_choice = language.choose_language(
            accept_language=request.headers.get("Accept-Language"),
            cookie=request.cookies.get(LANGUAGE_COOKIE),
            prompt_cookie=request.cookies.get(PROMPT_COOKIE),
            account=_account_language(),
            default=babel_default(),
            browser_setting=setting,
        )
    return g.language_choice


def request_translations():
    """Flask-Babel's translations for the current locale, found once per request and locale
    (force_locale sets another locale object, which finds its own)."""
    locale = get_locale()
    found = g.get("dashboard_translations")
    if found is None or found[0] is not locale:
        found = g.dashboard_translations = (locale, get_translations())
    return found[1]


def select_locale() -> str:
    return language_choice().page


def babel_default() -> str:
    return language.parse_language(current_app.config.get("BABEL_DEFAULT_LOCALE")) or language.DEFAULT


def prompt_language() -> str | None:
    """The browser's language when the page is in the other one and the visitor still wants to be asked."""
    return language_choice().prompt


def answer_programs_in_their_language(blueprint) -> None:
    """A blueprint whose callers are programs (signed API requests) answers in the language of
    their Accept-Language header: a program has no switcher to click and sees no prompt."""
    blueprint.record_once(lambda state: state.app.extensions.setdefault(PROGRAM_BLUEPRINTS, set()).add(blueprint.name))


def prompt_words(lang: str) -> dict[str, str]:
    """The prompt's words in the browser's language (not the page's), from the catalogue."""
    from flask_babel import force_locale, gettext

    with force_locale(lang):
        question = gettext("Show in Japanese?") if lang == "ja" else gettext("Show in English?")
        return {"question": question, "yes": gettext("Yes"), "no": gettext("No"), "never": gettext("Never")}


@functools.cache
def language_names() -> dict[str, str]:
    """Each language named in itself (English, 日本語), as Babel's locale data spells it.
    Computed once: the answer never changes (callers must not modify it)."""
    from babel import Locale

    return {code: Locale.parse(code).get_display_name(code) for code in language.SUPPORTED[::-1]}


def return_path() -> str:
    """This page's own address for the language forms to come back to (bounded and same-site)."""
    here = request.full_path if request.query_string else request.path
    return language.safe_return_path(here, default=language.safe_return_path(request.path))


def init_app(app) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    check_catalogues(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    babel.init_app(app, locale_selector=select_locale)
    # Flask-Babel's own template callables look the locale up and name it afresh for every
    # string (9 µs each, dozens per page, and a page is drawn again whenever a rate moves).
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: request_translations().ugettext(string),
        ngettext=lambda singular, plural, n: request_translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: request_translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: request_translations().unpgettext(context, singular, plural, n),
        newstyle=True,
    )

    @app.context_processor
    def language_context():
        return {
            "page_locale": select_locale(),
            "prompt_language": prompt_language,
            "prompt_words": prompt_words,
            "language_names": language_names,
            "signed_in": is_signed_in(),
            "return_path": return_path,
        }


def format_time(moment) -> str:
    """A moment in the configured display zone, in the page's language, with the zone named."""
    return language.format_moment(moment, select_locale(), display_zone())


def display_zone() -> str:
    # The configured zone (checked at start-up): no visitor or account chooses another.
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def set_language_cookie(response, name: str, value: str, *, persistent: bool = True) -> None:
    """Set one of the language cookies; not persistent means gone when the browser closes."""
    response.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE if persistent else None,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
