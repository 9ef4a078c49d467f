"""The browser's JSON API: the wallet's figures and the "Show in header" preference."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.accounts.store import save_settings
from dashboard.errors import render_error
from dashboard.wallet.views import current_balance_etag, current_balance_json

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.before_request
def require_sign_in():
    # The browser API answers JSON, never a redirect to the sign-in page.
    if not current_user.is_authenticated:
        return render_error(401, _("Sign in to see your balances."))
    return None


@bp.get("/balance")
def balance():
    # The page refreshes itself every REFRESH_SECONDS and most refreshes find nothing changed:
    # it sends the last ETag, and an unchanged wallet costs a 304 with no body (and, while the
    # read cache holds the account, no SQL at all).
    etag = current_balance_etag()
    if etag in request.if_none_match:
        return current_app.response_class(status=304, headers={"ETag": f'"{etag}"'})
    # The same body jsonify would give, made once per memoised document rather than per request.
    response = current_app.response_class(current_balance_json() + "\n", mimetype="application/json")
    response.headers["ETag"] = f'"{etag}"'
    return response


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
    unknown = set(payload) - {"show_in_header"}
    if unknown or "show_in_header" not in payload:
        return render_error(400, _("Send exactly one field, show_in_header."))
    value = payload["show_in_header"]
    if not isinstance(value, bool):
        return render_error(400, _("show_in_header must be true or false."))
    save_settings(current_user.id, show_net_assets_in_header=value)
    return jsonify({"show_in_header": value})
