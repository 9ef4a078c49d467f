"""The wallet page and the no-JavaScript forms of its two switches, "Show in header" and
"Hide zero balances"."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from dashboard.accounts.store import save_settings
from dashboard.core import language_choice as language
from dashboard.language.i18n import display_zone, is_signed_in, prompt_language, select_locale
from dashboard.wallet import unchanged_refresh
from dashboard.wallet.charts import chart_changes_at, chart_key, wallet_charts
from dashboard.wallet.forms import SwitchForm
from dashboard.wallet.gains_fields import with_gains
from dashboard.wallet.holdings import WalletFigures, WalletPreferences, figures_of, wallet_rows
from dashboard.wallet.page_memo import app_identity, page_key, wallet_page_shell, with_csrf_token
from dashboard.wallet.presentation import BALANCE_ORDERS

bp = Blueprint("wallet", __name__)


def current_figures() -> WalletFigures:
    """The signed-in account's figures, found once per request for the page and header."""
    if "wallet_figures" not in g:
        # The rows are kept for the request: an unchanged refresh is later recognised by them.
        g.wallet_rows = wallet_rows(current_user.id)
        g.wallet_figures, g.gains_unchanged_until = figures_for(
            current_user, g.wallet_rows, locale=select_locale(), zone=display_zone(), now=datetime.now(UTC))
    return g.wallet_figures


def figures_for(account, rows, *, locale: str, zone: str, now: datetime) -> tuple[WalletFigures, datetime]:
    """An account's figures from its wallet rows, and the moment the clock alone changes their
    gains: what current_figures() finds for a request, and the live wallet for its streams."""
    base = figures_of(rows, locale=locale, zone=zone, max_age=current_app.config["RATE_MAX_AGE"], now=now)
    # The gains figures (average price, unrealized gain, 24-hour change) over the base ones;
    # unchanged_refresh.py remembers an answer only until their 24-hour boundary moves on.
    return with_gains(base, account.id, rows.ledger, account.cost_method, zone, now)


def current_balance() -> dict:
    """The /api/balance document, as the templates read it."""
    return current_figures().with_preferences(_preferences())


def balance_rows(compact: bool = False, phone: bool = False) -> Markup:
    """The wallet table's rows (the full table's, or the header panel's five largest holdings):
    the same for every request with the same figures and choices, so rendered once per memoised
    document (per app and mount point, which the icons' URLs name). In discreet mode they hold no
    amount. `phone`: the list of one compact row per currency shown below 64rem instead."""
    figures, preferences = current_figures(), _preferences()
    if compact:
        # The largest by value whatever the wallet's order: the panel is a glance, not the list.
        preferences = preferences._replace(balance_order="value")
    key = ("balance_rows", compact, phone, preferences, app_identity(), request.script_root)
    return figures.derived(key, lambda: _rows_html(figures.with_preferences(preferences)["balances"], compact, phone))


# The header panel lists the largest holdings only; the wallet page has them all.
PANEL_HOLDINGS = 5


def _rows_html(rows: list[dict], compact: bool, phone: bool = False) -> Markup:
    if compact:
        largest = [row for row in rows if not row["zero"] and not row["missing_rate"]][:PANEL_HOLDINGS]
        return Markup(render_template("wallet/_compact_rows.html", rows=largest))
    return Markup(render_template("wallet/_balance_list.html" if phone else "wallet/_balance_rows.html", rows=rows))


def net_assets_long() -> bool:
    """Whether the net assets figure needs the smaller type to fit a phone."""
    return len(current_balance()["net_assets"]["formatted"]) > 16


def widest_figure() -> int:
    """The number of characters of the wallet's widest figure ("¥ 1,234" or "0.5 BTC"): the page
    shows the table only on a screen wide enough for it, and a card per currency otherwise.
    Measured on what is shown, so discreet mode's layout says nothing of the hidden amounts."""
    figures, discreet = current_figures(), current_user.discreet

    def measure() -> int:
        widths = [0]
        for row in figures.shown(discreet)["balances"]:
            formatted = row["formatted"]
            for column in ("available", "in_use", "total"):
                widths.append(len(formatted[column]) + 1 + len(formatted["code"]))
                if formatted[column + "_jpy"] is not None:
                    widths.append(2 + len(formatted[column + "_jpy"]))
        return max(widths)

    return figures.derived(("widest_figure", discreet), measure)


def _preferences() -> WalletPreferences:
    return WalletPreferences.of(current_user._get_current_object())  # noqa: SLF001 (Werkzeug's documented unwrap: one proxy lookup, not six)


def current_balance_json() -> str:
    return balance_json(current_figures(), _preferences())


def balance_json(figures: WalletFigures, preferences: WalletPreferences) -> str:
    """/api/balance's body for these figures and choices."""
    return figures.json(preferences, _compact_json)


def current_balance_json_key() -> tuple:
    """Where the figures keep current_balance_json()'s answer."""
    return WalletFigures.json_key(_preferences())


def current_balance_etag() -> str:
    return balance_etag(current_figures(), _preferences())


def balance_etag(figures: WalletFigures, preferences: WalletPreferences) -> str:
    """A strong validator of /api/balance's body: a digest of its exact bytes, so it changes
    with any figure, the language and the switches, and is made once per memoised document."""
    return figures.derived(
        ("etag", preferences),
        lambda: hashlib.sha256(figures.json(preferences, _compact_json).encode()).hexdigest()[:32],
    )


def _compact_json(document: dict) -> str:
    # What jsonify sends outside debug mode, its final newline included: one string per
    # memoised document, shared by every answer (and every remembered one) that sends it.
    return current_app.json.dumps(document, separators=(",", ":")) + "\n"


@bp.app_context_processor
def wallet_context():
    if not is_signed_in():
        return {}
    return {
        "balance": current_balance,
        "balance_rows": balance_rows,
        "widest_figure": widest_figure,
        "net_assets_long": net_assets_long,
        "discreet": current_user.discreet,
        "wallet_charts": lambda: wallet_charts(current_figures()),
        "refresh_seconds": current_app.config["REFRESH_SECONDS"],
        # The live wallet's stream (dashboard/live), served beside the app on the same origin.
        "stream_url": request.script_root + current_app.config["STREAM_PATH"] if current_app.config["STREAM_PATH"] else "",
    }


def page_inputs() -> dict:
    """What the wallet page's templates read of the figures, by the names of their functions."""
    return {
        "balance": current_balance(),
        "widest_figure": widest_figure(),
        "net_assets_long": net_assets_long(),
        "wallet_charts": wallet_charts(current_figures()) if current_app.config["WALLET_CHARTS"] else None,
    }


def page_functions(values: dict) -> dict:
    """The wallet templates' functions over `values` (page_inputs' or their holes, page_shapes.py)."""
    balance = values["balance"]
    return {
        "balance": lambda: balance,
        "balance_rows": lambda compact=False, phone=False: _rows_html(balance["balances"], compact, phone),
        "widest_figure": lambda: values["widest_figure"],
        "net_assets_long": lambda: values["net_assets_long"],
        "wallet_charts": lambda: values["wallet_charts"],
    }


def render_wallet_page(template: str, figures: WalletFigures, **key_inputs) -> str:
    """`template` as the wallet page is served: memoised when page_key allows it."""
    key = page_key(template, **key_inputs)
    if key is None:
        return render_template(template)
    return with_csrf_token(wallet_page_shell(template, figures, key, page_inputs, page_functions))


# A page without charts has no period boundary to be drawn again at.
NO_CHARTS_CHANGE = datetime.max.replace(tzinfo=UTC)


@bp.route("/")
@login_required
def index():
    # Without the charts, ?range= means nothing and is not read.
    charts = chart_key() if current_app.config["WALLET_CHARTS"] else ()
    key = page_key(
        "wallet/index.html",
        locale=select_locale(),
        prompt=prompt_language(),
        show_in_header=current_user.show_net_assets_in_header,
        hide_zero_balances=current_user.hide_zero_balances,
        discreet=current_user.discreet,
        view=wallet_view(),
        charts=charts,
    )
    if key is None:
        return render_template("wallet/index.html")
    figures = current_figures()
    shell = wallet_page_shell("wallet/index.html", figures, key, page_inputs, page_functions)
    unchanged_refresh.remember_page(figures, key, changes_at=chart_changes_at(charts) if charts else NO_CHARTS_CHANGE)
    return with_csrf_token(shell)


def wallet_view() -> tuple:
    """The account's order and small-balance choices, for the page's key."""
    return (current_user.balance_order, current_user.hide_small_balances, current_user.small_balance_jpy)


def _read_switch(field: str, refusal: str) -> bool:
    if not SwitchForm().validate_on_submit():
        abort(400, description=_("The form could not be read. Please try again."))
    # A checkbox sends nothing when off, so the form always sends a hidden "n" first and the
    # checked box adds "y": ["n"] is off, ["n", "y"] is on, anything else (nothing included) is refused.
    values = request.form.getlist(field)
    if values not in (["n"], ["n", "y"]):
        abort(400, description=refusal)
    return values == ["n", "y"]


def _back() -> str:
    return language.safe_return_path(request.form.get("next"), default=url_for("wallet.index"))


# The wallet's switches: the name the forms and /api/preferences give each, and the account's
# column that keeps it.
SWITCHES = {
    "show_in_header": "show_net_assets_in_header",
    "hide_zero_balances": "hide_zero_balances",
    "discreet": "discreet",
    "hide_small_balances": "hide_small_balances",
}
# The list's other choices, with what each accepts.
MAX_SMALL_BALANCE_JPY = 1_000_000_000


def small_balance_refusal() -> str:
    return _("The threshold must be a whole number of yen from 0 to 1,000,000,000.")


def read_small_balance_jpy(text: str) -> int | None:
    """A threshold typed in the form ("1000", "1,000"), or None when it is not one."""
    digits = text.strip().replace(",", "")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 10:
        return None
    value = int(digits)
    return value if value <= MAX_SMALL_BALANCE_JPY else None


def _save_switch(field: str, refusal: str, saved_on: str, saved_off: str):
    """A switch's no-JavaScript form: read it, save it on the account, confirm and go back."""
    on = _read_switch(field, refusal)
    save_settings(current_user.id, **{SWITCHES[field]: on})
    flash(saved_on if on else saved_off)
    return redirect(_back())


@bp.route("/preferences/header", methods=["POST"])
@login_required
def set_header_preference():
    return _save_switch("show_in_header", _("Show in header must be on or off."),
                        _("Saved: net assets are shown in the header."), _("Saved: net assets are no longer shown in the header."))


@bp.route("/preferences/zero-balances", methods=["POST"])
@login_required
def set_zero_balances_preference():
    return _save_switch("hide_zero_balances", _("Hide zero balances must be on or off."),
                        _("Saved: currencies with a zero balance are hidden."), _("Saved: every currency is shown."))


@bp.route("/preferences/small-balances", methods=["POST"])
@login_required
def set_small_balances_preference():
    return _save_switch("hide_small_balances", _("Hide small balances must be on or off."),
                        _("Saved: currencies worth less than your threshold are hidden."), _("Saved: every currency is shown."))


@bp.route("/preferences/balance-view", methods=["POST"])
@login_required
def set_balance_view():
    """The list's order and the threshold of "Hide small balances" (no-JavaScript form)."""
    if not SwitchForm().validate_on_submit():
        abort(400, description=_("The form could not be read. Please try again."))
    order = request.form.get("balance_order", "")
    if order not in BALANCE_ORDERS:
        abort(400, description=_("The order must be by value or by name."))
    threshold = read_small_balance_jpy(request.form.get("small_balance_jpy", ""))
    if threshold is None:
        abort(400, description=small_balance_refusal())
    save_settings(current_user.id, balance_order=order, small_balance_jpy=threshold)
    flash(_("Saved."))
    return redirect(_back())


@bp.route("/preferences/discreet", methods=["POST"])
@login_required
def set_discreet_preference():
    return _save_switch("discreet", _("Hide amounts must be on or off."),
                        _("Saved: amounts are hidden."), _("Saved: amounts are shown."))
