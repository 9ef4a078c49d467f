"""Authenticator-app codes (TOTP, RFC 6238) and recovery codes: setting them up and checking them.

The TOTP secret is stored Fernet-encrypted with the API secrets' key; a code is accepted once
only (the accepted time step is recorded, and a code of that step or an earlier one is refused
even within its window); recovery codes are kept as SHA-256 hashes and each works once.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import current_app
from sqlalchemy import func, select, update

from dashboard.core.secret_storage import SecretBox
from dashboard.extensions import db
from dashboard.models import AuthenticatorApp, RecoveryCode, utcnow

ISSUER = "Wallet dashboard"
STEP_SECONDS = 30
# One step either side: phones' clocks drift, and a code typed at the end of its window
# arrives in the next one.
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_CODE_PATTERN = re.compile(r"^[0-9]{6}$")


def clock() -> float:
    """Seconds since the epoch (tests move it instead of waiting 30 seconds)."""
    return time.time()


def _box() -> SecretBox:
    return SecretBox.from_config(current_app.config)


def authenticator_of(account_id: int) -> AuthenticatorApp | None:
    return db.session.get(AuthenticatorApp, account_id)


def is_enabled(account_id: int) -> bool:
    app = authenticator_of(account_id)
    return app is not None and app.enabled_at is not None


def start_setup(account_id: int) -> str:
    """A new secret for an authenticator not yet turned on (replacing an unconfirmed one)."""
    secret = pyotp.random_base32()
    app = authenticator_of(account_id)
    if app is not None and app.enabled_at is not None:
        raise ValueError("the authenticator is already on")
    if app is None:
        app = AuthenticatorApp(account_id=account_id, encrypted_secret="")
        db.session.add(app)
    app.encrypted_secret = _box().encrypt(secret)
    app.last_used_step = 0
    db.session.commit()
    return secret


def pending_secret(account_id: int) -> str | None:
    app = authenticator_of(account_id)
    if app is None or app.enabled_at is not None:
        return None
    return _box().decrypt(app.encrypted_secret)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The QR code as inline SVG markup (no script, no style attribute: the CSP allows it).

    A viewBox without width or height, so the stylesheet scales it to its box whole (a fixed
    size was cropped to two of its three finder squares); the four-module quiet zone a reader
    needs; black on white in either colour scheme, since readers expect dark modules on light."""
    return segno.make(uri, error="m").svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="totp-qr-code", title=title)


def grouped_key(secret: str) -> str:
    """The key as a person types it from the screen: groups of four ("ABCD EFGH …")."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def is_code_shaped(code: str) -> bool:
    return bool(_CODE_PATTERN.match(code))


def accept_code(account_id: int, code: str) -> bool:
    """True once for a current code; the same code (or an older one) is refused afterwards."""
    app = authenticator_of(account_id)
    if app is None or not is_code_shaped(code):
        return False
    totp = pyotp.TOTP(_box().decrypt(app.encrypted_secret))
    current = int(clock() // STEP_SECONDS)
    for step in range(current + WINDOW_STEPS, current - WINDOW_STEPS - 1, -1):
        if step > app.last_used_step and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            # Conditional on the recorded step, so two requests racing with one code: one wins.
            done = db.session.execute(
                update(AuthenticatorApp)
                .where(AuthenticatorApp.account_id == account_id, AuthenticatorApp.last_used_step < step)
                .values(last_used_step=step)
            ).rowcount
            db.session.commit()
            return done == 1
    return False


def enable(account_id: int, code: str) -> bool:
    """Turns the authenticator on if `code` is valid for the secret being set up."""
    app = authenticator_of(account_id)
    if app is None or app.enabled_at is not None or not accept_code(account_id, code):
        return False
    db.session.execute(update(AuthenticatorApp).where(AuthenticatorApp.account_id == account_id).values(enabled_at=utcnow()))
    db.session.commit()
    return True


def disable(account_id: int) -> None:
    db.session.execute(AuthenticatorApp.__table__.delete().where(AuthenticatorApp.account_id == account_id))
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.account_id == account_id))
    db.session.commit()


# --- recovery codes -------------------------------------------------------------------------

def _hash(code: str) -> str:
    return hashlib.sha256(b"recovery-code\0" + code.encode()).hexdigest()


def normalize_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def new_recovery_codes(account_id: int) -> list[str]:
    """Ten fresh codes, replacing any earlier ones; shown once, then only their hashes remain."""
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12)) for _ in range(RECOVERY_CODE_COUNT)]
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.account_id == account_id))
    db.session.add_all(RecoveryCode(account_id=account_id, code_hash=_hash(code)) for code in codes)
    db.session.commit()
    return [f"{code[:4]}-{code[4:8]}-{code[8:]}" for code in codes]


def remaining_recovery_codes(account_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def use_recovery_code(account_id: int, code: str) -> bool:
    normalized = normalize_recovery_code(code)
    if not 8 <= len(normalized) <= 32:
        return False
    done = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.account_id == account_id, RecoveryCode.code_hash == _hash(normalized),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    db.session.commit()
    return done == 1
