"""The exchange's request signature: hex HMAC-SHA256, keyed by the secret, of nonce + URL + body."""
from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["MAX_NONCE", "parse_access_key", "parse_nonce", "parse_signature", "sign", "signature_matches"]

# Explicit ASCII classes: Python's \d and str.isdigit() also accept "１２３" and other scripts' digits.
_ACCESS_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NONCE = re.compile(r"[0-9]{1,19}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")

# The nonce is stored in a signed 64-bit column; nanoseconds since 1970 fit until 2262.
MAX_NONCE = 2**63 - 1


def parse_access_key(value: str | None) -> str | None:
    """The access key as sent, or None when it cannot be one."""
    if value is None or not _ACCESS_KEY.fullmatch(value):
        return None
    return value


def parse_nonce(value: str | None) -> int | None:
    """A positive whole number of at most 19 ASCII digits and below 2**63, or None."""
    if value is None or not _NONCE.fullmatch(value):
        return None
    nonce = int(value)
    return nonce if 0 < nonce <= MAX_NONCE else None


def parse_signature(value: str | None) -> str | None:
    """64 hexadecimal digits, lower-cased, or None."""
    if value is None or not _SIGNATURE.fullmatch(value):
        return None
    return value.lower()


def sign(secret: str, nonce: str, url: str, body: bytes = b"") -> str:
    """The signature a client sends: the secret's text is the HMAC key, as ccxt and
    `openssl dgst -hmac` use it; the nonce is the header's text exactly as sent."""
    message = nonce.encode("ascii") + url.encode("utf-8") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, nonce: str, url: str, body: bytes, signature: str) -> bool:
    # Constant time, so the time taken does not tell how many leading digits were right.
    return hmac.compare_digest(sign(secret, nonce, url, body), signature.lower())
