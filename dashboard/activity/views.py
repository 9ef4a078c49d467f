"""The activity page (/activity) and its JSON (/api/activity): the signed-in account's journal."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dashboard.activity.feed import NoSuchPage, activity_page
from dashboard.activity.presentation import present_page
from dashboard.core import language_choice as language
from dashboard.errors import render_error
from dashboard.language.i18n import display_zone, format_time, select_locale
from dashboard.ledger.rate_history import rates_as_of

bp = Blueprint("activity", __name__)

MAX_PAGE = 1_000_000
_PAGE = re.compile(r"[0-9]{1,7}", re.ASCII)


class BadPage(ValueError):
    pass


def hide_amounts() -> bool:
    # Discreet mode is the account's `discreet` setting (issue 15); until it exists, never on.
    return bool(getattr(current_user, "discreet", False))


def _page_number() -> int:
    """?page=N, 1 by default: ASCII digits from 1 to MAX_PAGE, nothing else."""
    text = request.args.get("page", "1")
    if not _PAGE.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE:
        raise BadPage(text)
    return int(text)


def _document() -> tuple[dict | None, tuple[int, str, int] | None]:
    """The page's document, or (status, message, the page to offer instead)."""
    try:
        page = activity_page(current_user.id, _page_number())
    except BadPage:
        return None, (400, _("The page number must be a whole number from 1."), 1)
    except NoSuchPage as missing:
        return None, (404, _("There is no page %(number)d: your activity has %(pages)d page(s).",
                             number=missing.number, pages=missing.pages), missing.pages)
    locale, zone = select_locale(), display_zone()
    return present_page(page, locale=locale, format_time=format_time, hide_amounts=hide_amounts(),
                        format_time_in_zone=lambda moment: language.format_moment_in_zone(moment, locale, zone),
                        rate_at=rates_then()), None


def rates_then():
    """rate_at(currency, moment) for one page: the rate history read once per moment on the page."""
    found: dict = {}

    def rate_at(currency: str, moment):
        if moment not in found:
            found[moment] = {rate.currency: rate.jpy_rate for rate in rates_as_of(moment)}
        return found[moment].get(currency)

    return rate_at


def zone_heading() -> str:
    """The zone the page's times are in, named once."""
    return language.zone_name(datetime.now(UTC), display_zone(), select_locale())


@bp.get("/activity")
@login_required
def index():
    document, error = _document()
    if error is not None:
        status, message, instead = error
        return render_template("activity/index.html", activity=None, problem=message, instead=instead), status
    return render_template("activity/index.html", activity=document, problem=None, zone=zone_heading())


@bp.get("/api/activity")
def api():
    # The browser API answers JSON, never a redirect to the sign-in page.
    if not current_user.is_authenticated:
        return render_error(401, _("Sign in to see your activity."))
    document, error = _document()
    if error is not None:
        return render_error(*error[:2])
    return jsonify(document)
