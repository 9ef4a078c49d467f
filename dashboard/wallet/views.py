"""The wallet page and the "Show in header" switch's no-JavaScript form."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from dashboard.accounts.store import save_settings
from dashboard.core import language_choice as language
from dashboard.language.i18n import display_zone, is_signed_in, prompt_language, select_locale
from dashboard.wallet.charts import chart_key, wallet_charts
from dashboard.wallet.forms import DiscreetForm, HeaderPreferenceForm
from dashboard.wallet.holdings import WalletFigures, wallet_figures
from dashboard.wallet.page_memo import app_identity, render_wallet_page

bp = Blueprint("wallet", __name__)


def current_figures() -> WalletFigures:
    """The signed-in account's figures, found once per request for the page and header."""
    if "wallet_figures" not in g:
        g.wallet_figures = wallet_figures(
            current_user.id,
            locale=select_locale(),
            zone=display_zone(),
            max_age=current_app.config["RATE_MAX_AGE"],
        )
    return g.wallet_figures


def current_balance() -> dict:
    """The /api/balance document, as the templates read it."""
    return current_figures().with_header(current_user.show_net_assets_in_header, current_user.discreet)


def balance_rows() -> Markup:
    """The wallet table's rows: the same for every request that has the same figures, so
    rendered once per memoised document (per app and mount point, which the icons' URLs name)."""
    figures, discreet = current_figures(), current_user.discreet
    key = ("balance_rows", app_identity(), request.script_root, discreet)
    return figures.derived(key, lambda: Markup(render_template("wallet/_balance_rows.html", rows=figures.shown(discreet)["balances"])))


def current_balance_json() -> str:
    return current_figures().json(current_user.show_net_assets_in_header, _compact_json, current_user.discreet)


def _compact_json(document: dict) -> str:
    # What jsonify sends outside debug mode.
    return current_app.json.dumps(document, separators=(",", ":"))


@bp.app_context_processor
def wallet_context():
    if not is_signed_in():
        return {}
    return {
        "balance": current_balance,
        "balance_rows": balance_rows,
        "discreet": current_user.discreet,
        "wallet_charts": lambda: wallet_charts(current_figures()),
        "refresh_seconds": current_app.config["REFRESH_SECONDS"],
    }


@bp.route("/")
@login_required
def index():
    return render_wallet_page(
        "wallet/index.html",
        current_figures(),
        locale=select_locale(),
        prompt=prompt_language(),
        show_in_header=current_user.show_net_assets_in_header,
        discreet=current_user.discreet,
        charts=chart_key(),
    )


@bp.route("/preferences/header", methods=["POST"])
@login_required
def set_header_preference():
    form = HeaderPreferenceForm()
    if not form.validate_on_submit():
        abort(400, description=_("The form could not be read. Please try again."))
    # A checkbox sends nothing when off, so the form always sends a hidden "n" first and the
    # checked box adds "y": ["n"] is off, ["n", "y"] is on, anything else (nothing included) is refused.
    values = request.form.getlist("show_in_header")
    if values not in (["n"], ["n", "y"]):
        abort(400, description=_("Show in header must be on or off."))
    save_settings(current_user.id, show_net_assets_in_header=values == ["n", "y"])
    return redirect(language.safe_return_path(request.form.get("next"), default=url_for("wallet.index")))


@bp.route("/preferences/discreet", methods=["POST"])
@login_required
def set_discreet_preference():
    form = DiscreetForm()
    if not form.validate_on_submit():
        abort(400, description=_("The form could not be read. Please try again."))
    # As the header switch: a hidden "n" always, and "y" after it when the box is checked.
    values = request.form.getlist("discreet")
    if values not in (["n"], ["n", "y"]):
        abort(400, description=_("Hide amounts must be on or off."))
    save_settings(current_user.id, discreet=values == ["n", "y"])
    return redirect(language.safe_return_path(request.form.get("next"), default=url_for("wallet.index")))
