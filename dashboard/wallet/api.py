"""The browser's JSON API: the wallet's figures, its net-asset history, and the wallet's switches
("Show in header", "Hide zero balances", "Hide amounts")."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.accounts.store import save_settings
from dashboard.core.history import RANGES
from dashboard.errors import render_error
from dashboard.extensions import csrf
from dashboard.language.i18n import display_zone, select_locale
from dashboard.wallet import unchanged_refresh
from dashboard.wallet.charts import unknown_range_message
from dashboard.wallet.history import history_document, net_asset_history
from dashboard.wallet.presentation import BALANCE_ORDERS
from dashboard.wallet.views import (
    MAX_SMALL_BALANCE_JPY,
    SWITCHES,
    current_balance_etag,
    current_balance_json,
    current_balance_json_key,
    current_figures,
    small_balance_refusal,
)

bp = Blueprint("api", __name__, url_prefix="/api")
bp.record_once(lambda state: unchanged_refresh.init_app(state.app))


# The CSRF check runs below, after the sign-in check: a signed-out request is told to sign in
# (401), not that its form expired (400).
csrf.exempt(bp)


@bp.before_request
def require_sign_in():
    # The browser API answers JSON, never a redirect to the sign-in page.
    if not current_user.is_authenticated:
        return render_error(401, _("Sign in to see your balances."))
    if current_app.config["WTF_CSRF_ENABLED"] and current_app.config["WTF_CSRF_CHECK_DEFAULT"]:
        csrf.protect()  # as Flask-WTF's own hook would: a GET passes, a bad POST gets a JSON 400
    return None


@bp.get("/balance")
def balance():
    # The page refreshes itself every REFRESH_SECONDS and most refreshes find nothing changed:
    # it sends the last ETag, and an unchanged wallet costs a 304 with no body (and, while the
    # read cache holds the account, no SQL at all; usually unchanged_refresh.py answers first).
    etag = current_balance_etag()
    # The same body jsonify would give, made once per memoised document rather than per request.
    body = current_balance_json()
    unchanged_refresh.remember_answer(etag, current_figures(), current_balance_json_key())
    if etag in request.if_none_match:
        return unchanged_refresh.not_modified(f'"{etag}"')
    return unchanged_refresh.full_answer(body, f'"{etag}"')


@bp.post("/preferences")
def preferences():
    if not request.is_json:
        return render_error(400, _("Send the preference as JSON (Content-Type: application/json)."))
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting: not a preference
        payload = None
    if not isinstance(payload, dict):
        return render_error(400, _("The request body is not a JSON object."))
    if not payload or set(payload) - set(SWITCHES) - {"balance_order", "small_balance_jpy"}:
        return render_error(400, _("Send one or more of show_in_header, hide_zero_balances, discreet, hide_small_balances, "
                                   "balance_order and small_balance_jpy, and no other field."))
    for name, value in payload.items():
        if name == "balance_order":
            if value not in BALANCE_ORDERS:
                return render_error(400, _("The order must be by value or by name."))
        elif name == "small_balance_jpy":
            # bool is an int in Python: true is not a threshold.
            if type(value) is not int or not 0 <= value <= MAX_SMALL_BALANCE_JPY:
                return render_error(400, small_balance_refusal())
        elif not isinstance(value, bool):
            return render_error(400, _("%(name)s must be true or false.", name=name))
    # Checked in full before anything is saved: a request half wrong changes nothing.
    save_settings(current_user.id, **{SWITCHES.get(name, name): value for name, value in payload.items()})
    return jsonify(payload)


@bp.get("/history")
def history():
    range_name = request.args.get("range", "")
    if range_name not in RANGES:
        return render_error(400, unknown_range_message())
    figures = current_figures()
    document = figures.document
    result = net_asset_history(current_user.id, range_name, now_jpy=Decimal(document["net_assets"]["jpy"]),
                               now_missing=tuple(document["missing_rates"]),
                               currencies=tuple(row["currency"] for row in document["balances"]))
    return jsonify(history_document(result, locale=select_locale(), zone=display_zone(), discreet=current_user.discreet))
