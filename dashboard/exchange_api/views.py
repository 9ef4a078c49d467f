"""The exchange-compatible private API (Coincheck's), so ccxt, bots and tax tools read balances
unchanged. Authenticated by signed headers, never by the browser's cookie (hence no CSRF)."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from dashboard.exchange_api import throttle
from dashboard.exchange_api.auth import signed
from dashboard.exchange_api.format import balance_fields
from dashboard.exchange_api.key_store import READ_BALANCES
from dashboard.extensions import csrf
from dashboard.language.i18n import answer_programs_in_their_language
from dashboard.wallet.holdings import wallet_rows

bp = Blueprint("exchange_api", __name__, url_prefix="/api")
csrf.exempt(bp)
answer_programs_in_their_language(bp)


# Failed attempts (401, 403) count; once over the limit every request is refused with 429
# until the window passes, as with sign-in.
throttle.init_blueprint(bp)


@bp.get("/accounts/balance")
@signed(READ_BALANCES)
def balance():
    """Every enabled currency in display order, as the wallet page shows them."""
    rows = wallet_rows(g.api_account_id)
    return jsonify(balance_fields((code, available, in_use) for code, _decimals, available, in_use, _rate, _as_of in rows))
