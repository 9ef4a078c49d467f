"""Sign-in sessions: starting one, listing an account's, ending the others, purging ended ones."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import or_, select

from dashboard.extensions import db
from dashboard.models import LoginSession, utcnow

MAX_USER_AGENT = 200


def this_browser() -> dict[str, str]:
    """The request's User-Agent and address, cut to what the tables keep."""
    return {"user_agent": request.headers.get("User-Agent", "")[:MAX_USER_AGENT], "address": (request.remote_addr or "")[:45]}


def open_session(account_id: int) -> str:
    """A new server-side session for this browser; returns the token its cookie will carry."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(LoginSession(
        token_hash=LoginSession.hash_token(token), account_id=account_id, created_at=now, last_seen_at=now, **this_browser(),
    ))
    db.session.commit()
    return token


def end_session(token: str) -> None:
    db.session.execute(LoginSession.__table__.delete().where(LoginSession.token_hash == LoginSession.hash_token(token)))
    db.session.commit()


def end_other_sessions(account_id: int, keep_token: str) -> int:
    """Signs every other browser of this account out; returns how many there were."""
    ended = db.session.execute(
        LoginSession.__table__.delete()
        .where(LoginSession.account_id == account_id, LoginSession.token_hash != LoginSession.hash_token(keep_token))
    ).rowcount
    db.session.commit()
    return ended


def end_one_session(account_id: int, token_hash: str, keep_token: str) -> bool:
    """Signs one other browser of this account out (never this one); True when there was one."""
    ended = db.session.execute(
        LoginSession.__table__.delete()
        .where(LoginSession.account_id == account_id, LoginSession.token_hash == token_hash,
               LoginSession.token_hash != LoginSession.hash_token(keep_token))
    ).rowcount
    db.session.commit()
    return bool(ended)


def sessions_of(account_id: int) -> list[LoginSession]:
    """The account's sessions still running, most recently seen first."""
    now = utcnow()
    return list(db.session.execute(
        select(LoginSession).where(LoginSession.account_id == account_id, *_running(now))
        .order_by(LoginSession.last_seen_at.desc())
    ).scalars())


def purge_ended(now: datetime | None = None) -> int:
    """Deletes every session past its idle or absolute limit; returns how many."""
    now = now or utcnow()
    idle_since, started_before = _limits(now)
    deleted = db.session.execute(
        LoginSession.__table__.delete()
        .where(or_(LoginSession.last_seen_at <= idle_since, LoginSession.created_at <= started_before))
    ).rowcount
    db.session.commit()
    return deleted


def _limits(now: datetime) -> tuple[datetime, datetime]:
    config = current_app.config
    return now - timedelta(minutes=config["SESSION_IDLE_MINUTES"]), now - timedelta(hours=config["SESSION_MAX_HOURS"])


def _running(now: datetime):
    idle_since, started_before = _limits(now)
    return LoginSession.last_seen_at > idle_since, LoginSession.created_at > started_before
