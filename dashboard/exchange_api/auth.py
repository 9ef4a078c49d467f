"""Authenticates the exchange-compatible API the way the exchange does: ACCESS-KEY, ACCESS-NONCE
and ACCESS-SIGNATURE headers, the signature being HMAC-SHA256 of nonce + full URL + body.

The URL checked is the one the client sent: the scheme and host this app sees, with the path
and query exactly as on the request line (percent escapes as sent); the decoded form is also
accepted. Behind a
reverse proxy that is the proxy's request, so the proxy must pass the client's Host header on
unchanged, and TRUSTED_PROXIES must be set so the scheme and the client's address come from
X-Forwarded-Proto and X-Forwarded-For; otherwise a client that signed https://... is refused
because the app sees http://..., and allowed addresses would be checked against the proxy's.
"""
from __future__ import annotations

import logging
from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from dashboard.core.allowed_addresses import address_allowed
from dashboard.core.secret_storage import InvalidToken
from dashboard.core.signing import parse_access_key, parse_nonce, parse_signature, signature_matches
from dashboard.errors import render_error
from dashboard.exchange_api.key_store import READ_BALANCES, accept_nonce, find_key, secret_box

log = logging.getLogger(__name__)

HEADERS = ("ACCESS-KEY", "ACCESS-NONCE", "ACCESS-SIGNATURE")


def _missing_permission(permission: str) -> str:
    # Whole sentences per permission: a translator cannot build one from a verb phrase.
    if permission == READ_BALANCES:
        return _("This API key does not have the permission to read balances.")
    return _("This API key does not have the permission this request needs.")


def signed_urls() -> list[str]:
    """The URL as the client sent it (path and query exactly as on the request line, percent
    escapes and all, from the server's REQUEST_URI or RAW_URI), then as the app reads it."""
    urls = []
    raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if isinstance(raw, str) and raw.startswith("/") and raw.isascii():
        urls.append(request.host_url.rstrip("/") + raw)
    if request.url not in urls:
        urls.append(request.url)
    return urls


def refused(response) -> bool:
    """The answers that count against the failed-attempt limit."""
    return response.status_code in (401, 403)


def _authenticate(permission: str):
    """None when the request is signed by a usable key with `permission`, else the refusal."""
    raw = {name: request.headers.get(name) for name in HEADERS}
    if any(value is None or value == "" for value in raw.values()):
        return render_error(401, _("Sign the request: send the ACCESS-KEY, ACCESS-NONCE and ACCESS-SIGNATURE headers."))
    access_key = parse_access_key(raw["ACCESS-KEY"])
    if access_key is None:
        return render_error(401, _("ACCESS-KEY is not an access key."))
    nonce = parse_nonce(raw["ACCESS-NONCE"])
    if nonce is None:
        return render_error(401, _("ACCESS-NONCE must be a positive whole number of at most 19 digits (0-9), below 2^63."))
    signature = parse_signature(raw["ACCESS-SIGNATURE"])
    if signature is None:
        return render_error(401, _("ACCESS-SIGNATURE must be 64 hexadecimal digits (an HMAC-SHA256)."))

    key = find_key(access_key)
    if key is None:
        return render_error(401, _("Unknown API key."))
    if key.is_revoked:
        return render_error(401, _("This API key has been revoked."))
    try:
        secret = secret_box().decrypt(key.encrypted_secret)
    except InvalidToken:
        # The key's row is fine; the configured encryption key is not the one it was made with.
        log.error("API key %s cannot be decrypted: API_KEY_ENCRYPTION_KEY changed?", key.id)
        return render_error(500)
    body = request.get_data(cache=True)
    if not any(signature_matches(secret, raw["ACCESS-NONCE"], url, body, signature) for url in signed_urls()):
        return render_error(401, _("The signature does not match. Sign ACCESS-NONCE + the full request URL + the request body with HMAC-SHA256, keyed by your secret."))
    if not address_allowed(request.remote_addr, key.allowed_address_list):
        return render_error(403, _("This API key may not be used from your address."))
    if permission not in key.permission_set:
        return render_error(403, _missing_permission(permission))
    # Last, so that only a request that passes everything else uses up its nonce.
    if not accept_nonce(key.id, nonce):
        return render_error(401, _("ACCESS-NONCE must be greater than the last one used with this API key."))
    g.api_account_id = key.account_id
    return None


def signed(permission: str):
    """The view runs only for a request signed by a usable key that has `permission`."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            refusal = _authenticate(permission)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        return wrapper

    return decorator
