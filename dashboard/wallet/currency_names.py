"""Each currency's name in the page's language, through the catalogue (ビットコイン for BTC)."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

# Written out so the catalogue extractor sees each name; a test checks that they are the
# English names the currencies table is seeded with (core/currencies.py).
NAMES = {
    "jpy": _l("Japanese Yen"),
    "btc": _l("Bitcoin"),
    "eth": _l("Ethereum"),
    "etc": _l("Ethereum Classic"),
    "lsk": _l("Lisk"),
    "fct": _l("Factom"),
    "xmr": _l("Monero"),
    "rep": _l("Augur"),
    "xrp": _l("XRP"),
    "zec": _l("Zcash"),
    "xem": _l("NEM"),
    "ltc": _l("Litecoin"),
    "dash": _l("Dash"),
    "bch": _l("Bitcoin Cash"),
}


def names_in(locale: str) -> Callable[[str], str]:
    """Each currency's name in `locale`; a currency added later without a name in the catalogue
    is called by its code rather than left blank. The catalogue is asked once per app and
    language: every wallet document names its fourteen currencies, and each lookup goes through
    Flask-Babel's context (a tenth of the figures' cost after a rate tick, when every open page's
    are made)."""
    kept = current_app.extensions.setdefault("currency_names", {})
    names = kept.get(locale)
    if names is None:
        with force_locale(locale):
            names = kept[locale] = {code: str(name) for code, name in NAMES.items()}
    return lambda code: names.get(code) or code.upper()
