"""Device cookies (OWASP's "Slow down online guessing attacks with device cookies"): a browser
that signed in to an account carries a signed token naming that account, and its sign-in
attempts are then throttled on their own, so nobody elsewhere can lock it out."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "device"
# A browser shared by a household may sign in to a few accounts; older ones drop off.
MAX_ACCOUNTS = 5
MAX_AGE_SECONDS = 365 * 24 * 3600
MAX_COOKIE_LENGTH = 2048


@dataclass(frozen=True)
class DeviceToken:
    account: str  # a hash of the account's email, not the email itself
    nonce: str    # names this browser's own throttle bucket


def account_tag(email: str) -> str:
    return hashlib.sha256(b"device-cookie\0" + email.encode()).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="device-cookie")


def _entries() -> list[list[str]]:
    raw = request.cookies.get(COOKIE_NAME, "")
    if not raw or len(raw) > MAX_COOKIE_LENGTH:
        return []
    try:
        value = _serializer().loads(raw, max_age=MAX_AGE_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return []
    if not isinstance(value, list):
        return []
    return [entry for entry in value
            if isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)]


def token_for(email: str) -> DeviceToken | None:
    """The request's valid device token for the account with this (normalised) email, if any."""
    tag = account_tag(email)
    for account, nonce in _entries():
        if account == tag:
            return DeviceToken(account, nonce)
    return None


def issue(response, email: str) -> None:
    """After a complete sign-in: keep this browser's token for the account (a fresh one if it
    had none), and its tokens for up to MAX_ACCOUNTS - 1 other accounts."""
    tag = account_tag(email)
    entries = [entry for entry in _entries() if entry[0] != tag]
    existing = token_for(email)
    entries.insert(0, [tag, existing.nonce if existing else secrets.token_urlsafe(12)])
    response.set_cookie(
        COOKIE_NAME, _serializer().dumps(entries[:MAX_ACCOUNTS]), max_age=MAX_AGE_SECONDS,
        httponly=True, samesite="Lax", secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
