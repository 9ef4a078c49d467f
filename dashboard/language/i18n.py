"""Flask glue for languages: which locale a request is in, and what the language prompt shows."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import g, request, session
from flask_login import current_user

from dashboard.core import language_choice as language
from dashboard.extensions import babel
from dashboard.language.catalogues import check_catalogues

# dashboard/translations, beside the areas (package data once installed).
TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"

LANGUAGE_COOKIE = "lang"
PROMPT_COOKIE = "lang_prompt"          # "never": the visitor asked never to be prompted again
PROMPT_SESSION_KEY = "lang_prompt_dismissed"
COOKIE_MAX_AGE = 400 * 24 * 3600       # the longest lifetime browsers accept


def is_signed_in() -> bool:
    """Whether a signed-in account is making this request, without touching a database that
    has just been found unavailable (the 503 page must still render)."""
    if g.get("database_down"):
        return False
    return current_user.is_authenticated


def _account_language() -> str | None:
    if is_signed_in():
        return current_user.preferred_language
    return None


def select_locale() -> str:
    if "locale" not in g:
        g.locale = language.choose_locale(
            cookie=request.cookies.get(LANGUAGE_COOKIE),
            account=_account_language(),
            accept_language=request.headers.get("Accept-Language"),
            default=babel_default(),
        )
    return g.locale


def babel_default() -> str:
    from flask import current_app

    return language.parse_language(current_app.config.get("BABEL_DEFAULT_LOCALE")) or language.DEFAULT


def prompt_language() -> str | None:
    """The browser's language when the page is in the other one and the visitor still wants to be asked."""
    account_never = bool(is_signed_in() and current_user.never_prompt_language)
    return language.should_prompt(
        page_locale=select_locale(),
        accept_language=request.headers.get("Accept-Language"),
        never_cookie=request.cookies.get(PROMPT_COOKIE) == "never",
        dismissed_for_session=bool(session.get(PROMPT_SESSION_KEY)),
        account_never=account_never,
    )


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
    from flask import current_app

    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
