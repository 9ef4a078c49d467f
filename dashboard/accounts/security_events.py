"""The account's security log: each sign-in and each change to how it signs in, with the
browser and address it came from, shown on the Security page as "Recent activity" so a customer
can see a sign-in or a change that was not theirs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

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
    "second_step_failed": _l("Two-step verification failed"),
}
# The addresses and browsers a warning about second-step failures names, most recent first.
ORIGINS_SHOWN = 5
SHOWN = 20


def record(account_id: int, kind: str) -> None:
    """Adds the event to the session's transaction, committed with the change it records."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event {kind!r}")
    db.session.add(SecurityEvent(account_id=account_id, kind=kind, **this_browser()))


@dataclass(frozen=True)
class Origin:
    address: str
    user_agent: str
    last_at: datetime


@dataclass(frozen=True)
class SecondStepFailures:
    """Failed second steps of an account: how many, when, and from where."""

    count: int
    first_at: datetime | None
    last_at: datetime | None
    origins: tuple[Origin, ...]  # distinct address and browser, most recent first, at most ORIGINS_SHOWN


def second_step_failures(account_id: int, *, after: datetime | None = None) -> SecondStepFailures:
    """The account's second-step failures after `after` (all it keeps when None)."""
    conditions = [SecurityEvent.account_id == account_id, SecurityEvent.kind == "second_step_failed"]
    if after is not None:
        conditions.append(SecurityEvent.at > after)
    count, first_at, last_at = db.session.execute(
        select(func.count(), func.min(SecurityEvent.at), func.max(SecurityEvent.at)).where(*conditions)).one()
    rows = db.session.execute(
        select(SecurityEvent.address, SecurityEvent.user_agent, func.max(SecurityEvent.at).label("last_at"))
        .where(*conditions).group_by(SecurityEvent.address, SecurityEvent.user_agent)
        .order_by(func.max(SecurityEvent.at).desc()).limit(ORIGINS_SHOWN)).all()
    return SecondStepFailures(count, first_at, last_at, tuple(Origin(*row) for row in rows))


def last_of(account_id: int, *kinds: str) -> datetime | None:
    """When the latest event of these kinds happened, if ever."""
    return db.session.execute(
        select(func.max(SecurityEvent.at)).where(SecurityEvent.account_id == account_id, SecurityEvent.kind.in_(kinds))
    ).scalar_one()


def unanswered_second_step_failures(account_id: int) -> SecondStepFailures:
    """The failures since the password last changed: changing it is the answer the warning asks
    for (whoever failed had the old one), so failures before it are no longer shown."""
    return second_step_failures(account_id, after=last_of(account_id, "password_changed"))


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
