"""API key secrets at rest: Fernet-encrypted with the configured key, never stored in plain text."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "SecretBox", "derived_key", "parse_keys"]


class KeyConfigurationError(ValueError):
    """API_KEY_ENCRYPTION_KEY cannot be used; the message says why (never what it holds)."""


def derived_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, for development and tests only: deterministic, so
    keys made on a development database still work after a restart."""
    digest = hashlib.sha256(b"wallet-dashboard api key encryption\0" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def parse_keys(value: str) -> MultiFernet:
    """One or more comma-separated Fernet keys: the first encrypts, every one decrypts, so an
    operator can rotate by putting a new key in front and re-encrypting later."""
    keys = [part.strip() for part in (value or "").split(",") if part.strip()]
    if not keys:
        raise KeyConfigurationError("API_KEY_ENCRYPTION_KEY is not set")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise KeyConfigurationError(
                f"API_KEY_ENCRYPTION_KEY entry {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None
    return MultiFernet(fernets)


class SecretBox:
    """Encrypts and decrypts API key secrets with the configured keys."""

    def __init__(self, keys: MultiFernet):
        self._keys = keys

    @classmethod
    def from_config(cls, config) -> SecretBox:
        configured = config.get("API_KEY_ENCRYPTION_KEY") or ""
        if not configured and (config.get("TESTING") or config.get("ENV_NAME") == "development"):
            configured = derived_key(config.get("SECRET_KEY") or "")
        return cls(parse_keys(configured))

    def encrypt(self, secret: str) -> str:
        return self._keys.encrypt(secret.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Raises InvalidToken when no configured key opens it (the key was changed)."""
        return self._keys.decrypt(token.encode("ascii")).decode()
