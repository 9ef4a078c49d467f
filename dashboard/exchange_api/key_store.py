"""API keys: creating, listing and revoking them, each journalled; the one place key rows change."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from dashboard.core.allowed_addresses import display, parse_allowed, split_entries
from dashboard.core.secret_storage import SecretBox
from dashboard.extensions import db
from dashboard.models import ApiKey, ApiKeyEvent, utcnow

# What a key may do. Only reading balances exists so far; a key is made with all of them
# unless asked otherwise.
READ_BALANCES = "balance:read"
PERMISSIONS = (READ_BALANCES,)

# Letters and digits only: an access key never starts with "-", so it is safe as a CLI argument.
_ACCESS_KEY_ALPHABET = string.ascii_letters + string.digits
ACCESS_KEY_LENGTH = 16
SECRET_BYTES = 32


class ApiKeyError(ValueError):
    """A request about API keys that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class NewKey:
    """A key just made: the only moment its secret exists outside the encrypted column."""

    key: ApiKey
    secret: str


def secret_box() -> SecretBox:
    return SecretBox.from_config(current_app.config)


def new_access_key() -> str:
    return "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(ACCESS_KEY_LENGTH))


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def _journal(key: ApiKey, event: str, source: str, at: datetime) -> None:
    db.session.add(ApiKeyEvent(api_key_id=key.id, account_id=key.account_id, event=event, source=source, occurred_at=at))


def create_key(account_id: int, *, permissions=PERMISSIONS, allowed=(), source: str) -> NewKey:
    """Adds a key and its "created" event to the caller's transaction. Raises AllowedAddressError
    for entries that are not addresses or networks, ApiKeyError for unknown permissions."""
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown:
        raise ApiKeyError("unknown permission: " + ", ".join(sorted(unknown)))
    networks = parse_allowed(split_entries(list(allowed)))
    secret = new_secret()
    now = utcnow()
    key = ApiKey(
        account_id=account_id,
        access_key=new_access_key(),
        encrypted_secret=secret_box().encrypt(secret),
        permissions=" ".join(p for p in PERMISSIONS if p in set(permissions)),
        allowed_addresses=" ".join(display(network) for network in networks),
        last_nonce=0,
        created_at=now,
    )
    db.session.add(key)
    db.session.flush()
    _journal(key, "created", source, now)
    db.session.flush()
    return NewKey(key, secret)


def account_keys(account_id: int) -> list[ApiKey]:
    """Newest first, revoked ones included (they stay listed as revoked)."""
    return list(db.session.execute(select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())).scalars())


def find_key(access_key: str) -> ApiKey | None:
    return db.session.execute(select(ApiKey).where(ApiKey.access_key == access_key)).scalar_one_or_none()


def revoke_key(key: ApiKey, *, source: str) -> None:
    """Adds the revocation and its event to the caller's transaction; revoking twice is refused."""
    # The row is locked so two revocations at once cannot both journal one.
    locked = db.session.execute(
        select(ApiKey).where(ApiKey.id == key.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    if locked.revoked_at is not None:
        raise ApiKeyError(f"the key {key.access_key} is already revoked")
    now = utcnow()
    locked.revoked_at = now
    _journal(locked, "revoked", source, now)
    db.session.flush()


def accept_nonce(key_id: int, nonce: int) -> bool:
    """Records nonce as the key's last one if it is greater than every earlier one, and commits.
    The comparison is inside the UPDATE, so of two requests with the same nonce only one wins,
    however close together they come."""
    table = ApiKey.__table__
    result = db.session.execute(
        table.update()
        .where(table.c.id == key_id, table.c.last_nonce < nonce, table.c.revoked_at.is_(None))
        .values(last_nonce=nonce, last_used_at=utcnow())
    )
    db.session.commit()
    return result.rowcount == 1
