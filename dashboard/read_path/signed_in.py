"""Who is signed in: the request's account, read without an ORM object or a transaction.

Every signed-in request starts here, so it is kept to one indexed statement on a connection
in autocommit mode (no BEGIN or ROLLBACK round trips) and a small immutable snapshot of the
account. Changes to the account go through accounts.save_settings, never through the snapshot.

Sessions end on the server: idle for SESSION_IDLE_MINUTES, or SESSION_MAX_HOURS after sign-in,
whatever the cookie says. The times come with the same row (so a cached row ends on time too);
"last seen" is written at most once per touch_interval, not on every request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, g, request
from flask_login import UserMixin
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from dashboard.extensions import READS_BIND, db
from dashboard.models import Account, LoginSession
from dashboard.read_path import read_cache, replicas

_accounts, _sessions = Account.__table__.c, LoginSession.__table__.c
SIGNED_IN_QUERY = (
    select(_accounts.id, _accounts.email, _accounts.preferred_language,
           _accounts.never_prompt_language, _accounts.show_net_assets_in_header,
           _accounts.hide_zero_balances, _accounts.discreet, _accounts.balance_order,
           _accounts.hide_small_balances, _accounts.small_balance_jpy, _accounts.cost_method,
           _sessions.created_at, _sessions.last_seen_at)
    .join(LoginSession.__table__, _sessions.account_id == _accounts.id)
    .where(_sessions.token_hash == bindparam("token_hash"))
)

MAX_TOKEN_LENGTH = 128
# A session row dated this far in the future was not written by this clock: refused.
CLOCK_SKEW = timedelta(minutes=1)


def touch_interval(config) -> timedelta:
    """How stale "last seen" may get before a request writes it again: a sixth of the idle limit
    (5 minutes of the default 30). A session may so end up to this much before its idle limit,
    never after it. An open wallet page refreshes every 30 seconds; a write each minute evicted
    its session from the read cache every other refresh, so no refresh was ever answered from
    memory (unchanged_refresh.py), and at 20 % of 1.7 M accounts it was 5,700 writes a second."""
    return timedelta(minutes=config["SESSION_IDLE_MINUTES"]) / 6


def now() -> datetime:
    """The clock sessions are measured by (tests move it instead of sleeping)."""
    return datetime.now(UTC)


def session_ends_at(created_at: datetime, last_seen_at: datetime, config) -> datetime:
    """The moment the session ends unless a request comes first: idle, or at its absolute limit."""
    return min(last_seen_at + timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
               created_at + timedelta(hours=config["SESSION_MAX_HOURS"]))


def session_ended(created_at: datetime, last_seen_at: datetime, at: datetime, config) -> bool:
    return at >= session_ends_at(created_at, last_seen_at, config) or created_at > at + CLOCK_SKEW


@dataclass(frozen=True, slots=True)
class SignedInAccount(UserMixin):
    """The account behind this request's sign-in session, as it was when the request began."""

    id: int
    email: str
    preferred_language: str | None
    never_prompt_language: bool
    show_net_assets_in_header: bool
    hide_zero_balances: bool
    discreet: bool
    balance_order: str
    hide_small_balances: bool
    small_balance_jpy: int
    cost_method: str  # how acquisition cost is computed (dashboard/core/cost_basis.py)
    session_token: str

    def get_id(self) -> str:
        # Flask-Login keeps this in the cookie: the server-side session, not the account id.
        return self.session_token


def read_connection() -> Connection:
    """This request's connection for reads that need no transaction.

    Autocommit: each statement is its own snapshot and no BEGIN/ROLLBACK is sent. Writes never
    use it; they go through db.session and its transaction as before."""
    if "read_connection" not in g:
        g.read_connection = db.engines[READS_BIND].connect()
    return g.read_connection


def load_signed_in(token: str) -> SignedInAccount | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    token_hash = LoginSession.hash_token(token)
    row = read_cache.current().signed_in(token_hash, lambda: _read_session(token_hash))
    if row is None:
        return None
    g.signed_in_row = row  # the read cache's own object: wallet/unchanged_refresh.py asks for it again
    *account, created_at, last_seen_at = row
    at = now()
    if session_ended(created_at, last_seen_at, at, current_app.config):
        return None
    if at - last_seen_at >= touch_interval(current_app.config):
        _touch(token_hash, at)
    return SignedInAccount(*account, session_token=token)


def _read_session(token_hash: str):
    def run(connection: Connection):
        return connection.execute(SIGNED_IN_QUERY, {"token_hash": token_hash}).first()

    # The account is known only once the row is read: a replica that had not replayed the
    # account's latest change (heard by the feed) is not believed, and the row read again.
    row = replicas.read(None, run, read_connection)
    router = replicas.current()
    if row is not None and router is not None and replicas.read_position() < router.needed(row[0]):
        row = replicas.read(row[0], run, read_connection)
    return row


def _touch(token_hash: str, at: datetime) -> None:
    # Through the writing session, so this process's read cache forgets the old time at commit.
    db.session.execute(
        update(LoginSession).where(LoginSession.token_hash == token_hash)
        .values(last_seen_at=at, address=(request.remote_addr or "")[:45])
    )
    db.session.commit()


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def close_read_connection(_error=None):
        replicas.close_connections()
        connection = g.pop("read_connection", None)
        if connection is not None:
            try:
                connection.close()
            except DBAPIError:  # the database went away mid-request; the pool replaces it
                pass
