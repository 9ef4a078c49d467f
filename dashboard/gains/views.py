"""The gains page (/gains), its method setting, the annual report (CSV and printable) and
/api/gains: thin views over dashboard/gains/figures.py."""
from __future__ import annotations

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dashboard.accounts.store import save_settings
from dashboard.core.cost_basis import METHODS, MOVING_AVERAGE, TOTAL_AVERAGE
from dashboard.core.formatting import number
from dashboard.errors import render_error
from dashboard.gains.figures import account_method, column_labels, realized_gains, report_csv, report_rows
from dashboard.language.i18n import display_zone, select_locale
from dashboard.models import utcnow

bp = Blueprint("gains", __name__)


@bp.app_template_filter("exact_number")
def exact_number(text: str) -> str:
    """An exact figure (a plain decimal string) grouped in the page's language, every decimal kept."""
    if not text:
        return ""
    value = Decimal(text)
    return number(value, max(0, -value.as_tuple().exponent), locale=select_locale())

@bp.app_template_filter("exact_yen")
def exact_yen(text: str) -> str:
    """An exact yen figure with its yen sign, a loss's minus before it: "¥ 1,234", "-¥ 2,936"."""
    written = exact_number(text)
    if not written:
        return ""
    return "-¥ " + written[1:] if written.startswith("-") else "¥ " + written


# The first year anything of this kind could be sold; years are four ASCII digits.
FIRST_YEAR = 2009
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)


class BadRequest(ValueError):
    pass


def method_names() -> dict[str, str]:
    return {TOTAL_AVERAGE: _("Total-average method"), MOVING_AVERAGE: _("Moving-average method")}


def _zone() -> ZoneInfo:
    return ZoneInfo(display_zone())


def _this_year() -> int:
    return utcnow().astimezone(_zone()).year


def _year() -> int:
    """?year=YYYY, this year by default: from FIRST_YEAR to this year."""
    text = request.args.get("year")
    if text is None:
        return _this_year()
    if not _YEAR.fullmatch(text) or not FIRST_YEAR <= int(text) <= _this_year():
        raise BadRequest(_("The year must be a year from %(first)d to %(last)d, such as %(last)d.", first=FIRST_YEAR, last=_this_year()))
    return int(text)


def _method() -> str:
    """?method=…, the account's own method by default."""
    text = request.args.get("method")
    if text is None:
        return account_method(current_user.id)
    if text not in METHODS:
        raise BadRequest(_("The method must be total-average or moving-average."))
    return text


@bp.get("/api/gains")
def api():
    # The browser API answers JSON, never a redirect to the sign-in page.
    if not current_user.is_authenticated:
        return render_error(401, _("Sign in to see your gains."))
    try:
        year, method = _year(), _method()
    except BadRequest as error:
        return render_error(400, str(error))
    return jsonify(realized_gains(current_user.id, year, method, _zone()))


@bp.get("/gains")
@login_required
def index():
    try:
        year, method = _year(), _method()
    except BadRequest as error:
        return render_template("gains/index.html", problem=str(error), year=_this_year(), years=_years()), 400
    return render_template("gains/index.html", problem=None, year=year, years=_years(), method=method,
                           chosen=account_method(current_user.id), methods=method_names(),
                           gains=realized_gains(current_user.id, year, method, _zone()),
                           rows=report_rows(current_user.id, year, method, _zone()), columns=column_labels(),
                           hide_amounts=bool(current_user.discreet))


@bp.post("/gains/method")
@login_required
def choose_method():
    method = request.form.get("method", "")
    if method not in METHODS:
        flash(_("Choose the total-average method or the moving-average method."))
        return redirect(url_for("gains.index")), 303
    save_settings(current_user.id, cost_method=method)
    flash(_("Your method of acquisition cost is now: %(method)s.", method=method_names()[method]))
    return redirect(url_for("gains.index")), 303


@bp.get("/gains/report.csv")
@login_required
def report_download():
    try:
        year, method = _year(), _method()
    except BadRequest as error:
        return render_error(400, str(error))
    language = "ja" if select_locale() == "ja" else "en"
    body = report_csv(report_rows(current_user.id, year, method, _zone()), language)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="annual-report-{year}-{method}-{language}.csv"',
        "Cache-Control": "no-store"})


@bp.get("/gains/report")
@login_required
def report_page():
    try:
        year, method = _year(), _method()
    except BadRequest as error:
        return render_error(400, str(error))
    issued = utcnow().astimezone(_zone()).date()
    return render_template("gains/report.html", year=year, method=method, methods=method_names(),
                           rows=report_rows(current_user.id, year, method, _zone()), columns=column_labels(),
                           email=current_user.email, issued=issued,
                           issued_text=format_date(issued, "long", locale=select_locale()),
                           hide_amounts=bool(current_user.discreet))


def _years() -> list[int]:
    this = _this_year()
    return list(range(this, max(FIRST_YEAR, this - 10) - 1, -1))

