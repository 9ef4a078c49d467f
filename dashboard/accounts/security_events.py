"""The account's security log: each sign-in and each change to how it signs in, with the
browser and address it came from, shown on the Security page as "Recent activity" so a customer
can see a sign-in or a change that was not theirs."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from dashboard.accounts.sessions import this_browser
from dashboard.extensions import db
from dashboard.models import SecurityEvent, utcnow

# Every kind recorded, with what the page calls it.
KINDS = {
    "signed_in": _l("Sign-in"),
    "password_changed": _l("Password changed"),
    "passkey_added": _l("Passkey added"),
    "passkey_removed": _l("Passkey removed"),
    "authenticator_on": _l("Authenticator codes turned on"),
    "authenticator_off": _l("Authenticator codes turned off"),
    "recovery_codes_new": _l("New recovery codes"),
    "signed_out_elsewhere": _l("Signed out everywhere else"),
    "api_key_created": _l("API key created"),
}
SHOWN = 20


def record(account_id: int, kind: str) -> None:
    """Adds the event to the session's transaction, committed with the change it records."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event {kind!r}")
    db.session.add(SecurityEvent(account_id=account_id, kind=kind, **this_browser()))


def recent(account_id: int, limit: int = SHOWN) -> list[SecurityEvent]:
    return list(db.session.execute(
        select(SecurityEvent).where(SecurityEvent.account_id == account_id)
        .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc()).limit(limit)).scalars())


def purge_old(now: datetime | None = None) -> int:
    """Deletes the events older than SECURITY_EVENT_DAYS; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["SECURITY_EVENT_DAYS"])
    deleted = db.session.execute(delete(SecurityEvent).where(SecurityEvent.at < cutoff)).rowcount
    db.session.commit()
    return deleted
