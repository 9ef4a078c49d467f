"""Passkeys (WebAuthn, through the `webauthn` package): registering them, signing in with them.

The relying party is this site: its ID and origin come from WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN
when set, otherwise from the request's Host (the host without its port, and scheme://host:port),
and only from a Host in TRUSTED_HOSTS: Flask refuses any other with 400 before a view runs, and
this module checks again, so a Host of the visitor's choosing never becomes the RP ID.
Browsers refuse an IP address as RP ID, so serve on a name (`localhost` in development).
Challenges are kept in the signed session cookie for one ceremony and used once: the cookie
forgets the challenge when it is answered, and the server remembers it (SpentChallenge) until it
would have expired, so the same cookie sent again cannot answer it a second time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from flask import abort, current_app, request, session
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from werkzeug.sansio.utils import host_is_trusted

from dashboard.extensions import db
from dashboard.models import Passkey, SpentChallenge, utcnow

RP_NAME = "Wallet dashboard"
CHALLENGE_SECONDS = 300
MAX_NAME = 64
MAX_PASSKEYS = 20


class PasskeyError(ValueError):
    """The browser's answer does not prove what it should; never more detail to the client."""


def _trusted_host() -> str:
    host = request.host
    if not host_is_trusted(host, current_app.config.get("TRUSTED_HOSTS")) or not current_app.config.get("TRUSTED_HOSTS"):
        abort(400)
    return host


def rp_id() -> str:
    if current_app.config.get("WEBAUTHN_RP_ID"):
        return current_app.config["WEBAUTHN_RP_ID"]
    host = _trusted_host()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def origin() -> str:
    if current_app.config.get("WEBAUTHN_ORIGIN"):
        return current_app.config["WEBAUTHN_ORIGIN"]
    _trusted_host()
    return request.host_url.rstrip("/")


def _user_handle(account_id: int) -> bytes:
    # Stable and opaque: no email or database id in the authenticator.
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"passkey-user:{account_id}".encode(), hashlib.sha256).digest()[:16]


def passkeys_of(account_id: int) -> list[Passkey]:
    return list(db.session.execute(select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.created_at)).scalars())


def has_passkeys(account_id: int) -> bool:
    return db.session.execute(select(Passkey.id).where(Passkey.account_id == account_id).limit(1)).first() is not None


def _remember(purpose: str, challenge: bytes, **extra) -> None:
    session[f"webauthn_{purpose}"] = {"challenge": bytes_to_base64url(challenge), "at": int(time.time()), **extra}


def _recall(purpose: str) -> dict:
    """The ceremony's challenge, once: a second answer to the same challenge is refused."""
    state = session.pop(f"webauthn_{purpose}", None)
    if not isinstance(state, dict) or not isinstance(state.get("challenge"), str) or not isinstance(state.get("at"), int):
        raise PasskeyError("no ceremony in progress")
    if time.time() - state["at"] > CHALLENGE_SECONDS:
        raise PasskeyError("the ceremony took too long")
    _spend(state["challenge"], expires_at=datetime.fromtimestamp(state["at"] + CHALLENGE_SECONDS, UTC))
    return state


def _spend(challenge: str, expires_at: datetime) -> None:
    """Remember the challenge as answered, before the answer is checked (a wrong answer spends it
    too); refused if it was answered before. Committed at once, whatever the answer proves."""
    db.session.execute(delete(SpentChallenge).where(SpentChallenge.expires_at < utcnow()))
    db.session.add(SpentChallenge(digest=hashlib.sha256(challenge.encode()).hexdigest(), expires_at=expires_at))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise PasskeyError("the challenge was answered before") from None


def registration_options(account_id: int, email: str) -> str:
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=RP_NAME, user_id=_user_handle(account_id), user_name=email, user_display_name=email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id)) for key in passkeys_of(account_id)],
    )
    _remember("registration", options.challenge, account=account_id)
    return options_to_json(options)


def register(account_id: int, credential: dict, name: str) -> Passkey:
    state = _recall("registration")
    if state.get("account") != account_id:
        raise PasskeyError("the ceremony belongs to another account")
    if len(passkeys_of(account_id)) >= MAX_PASSKEYS:
        raise PasskeyError("too many passkeys")
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=rp_id(), expected_origin=origin(), require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyError(str(error)[:200]) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.execute(select(Passkey.id).where(Passkey.credential_id == credential_id)).first() is not None:
        raise PasskeyError("this passkey is already registered")
    passkey = Passkey(account_id=account_id, credential_id=credential_id, public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, name=name)
    db.session.add(passkey)
    db.session.commit()
    return passkey


def authentication_options(account_id: int | None = None) -> str:
    """For a passkey alone (any discoverable passkey of this site), or as the second factor of
    `account_id` (only that account's passkeys)."""
    allow = None
    if account_id is not None:
        allow = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id)) for key in passkeys_of(account_id)]
    options = generate_authentication_options(
        rp_id=rp_id(), allow_credentials=allow, user_verification=UserVerificationRequirement.REQUIRED)
    _remember("authentication", options.challenge, account=account_id)
    return options_to_json(options)


def authenticate(credential: dict, account_id: int | None = None) -> int:
    """The account the passkey belongs to, once its signature over our challenge is verified."""
    state = _recall("authentication")
    if state.get("account") != account_id:
        raise PasskeyError("the ceremony was for another sign-in")
    raw_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(raw_id, str) or not raw_id or len(raw_id) > 1400:
        raise PasskeyError("no credential id")
    passkey = db.session.execute(select(Passkey).where(Passkey.credential_id == raw_id)).scalar_one_or_none()
    if passkey is None or (account_id is not None and passkey.account_id != account_id):
        raise PasskeyError("unknown passkey")
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=rp_id(), expected_origin=origin(), credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyError(str(error)[:200]) from None
    db.session.execute(update(Passkey).where(Passkey.id == passkey.id)
                       .values(sign_count=verified.new_sign_count, last_used_at=utcnow()))
    db.session.commit()
    return passkey.account_id


def rename(account_id: int, passkey_id: int, name: str) -> bool:
    done = db.session.execute(update(Passkey).where(Passkey.id == passkey_id, Passkey.account_id == account_id).values(name=name)).rowcount
    db.session.commit()
    return done == 1


def remove(account_id: int, passkey_id: int) -> bool:
    done = db.session.execute(Passkey.__table__.delete().where(Passkey.id == passkey_id, Passkey.account_id == account_id)).rowcount
    db.session.commit()
    return done == 1


def parse_credential(body: bytes) -> dict:
    """The JSON the browser script sends; anything else is refused before the library sees it."""
    try:
        credential = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PasskeyError("not JSON") from None
    if not isinstance(credential, dict):
        raise PasskeyError("not a credential")
    return credential
