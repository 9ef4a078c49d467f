"""Who is signed in: the request's account, read without an ORM object or a transaction.

Every signed-in request starts here, so it is kept to one indexed statement on a connection
in autocommit mode (no BEGIN or ROLLBACK round trips) and a small immutable snapshot of the
account. Changes to the account go through accounts.save_settings, never through the snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g
from flask_login import UserMixin
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from dashboard.extensions import READS_BIND, db
from dashboard.models import Account, LoginSession
from dashboard.read_path import read_cache

_accounts, _sessions = Account.__table__.c, LoginSession.__table__.c
SIGNED_IN_QUERY = (
    select(_accounts.id, _accounts.email, _accounts.preferred_language,
           _accounts.never_prompt_language, _accounts.show_net_assets_in_header, _accounts.discreet)
    .join(LoginSession.__table__, _sessions.account_id == _accounts.id)
    .where(_sessions.token_hash == bindparam("token_hash"))
)

MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True, slots=True)
class SignedInAccount(UserMixin):
    """The account behind this request's sign-in session, as it was when the request began."""

    id: int
    email: str
    preferred_language: str | None
    never_prompt_language: bool
    show_net_assets_in_header: bool
    discreet: bool
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
    row = read_cache.current().signed_in(
        token_hash, lambda: read_connection().execute(SIGNED_IN_QUERY, {"token_hash": token_hash}).first()
    )
    return None if row is None else SignedInAccount(*row, session_token=token)


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def close_read_connection(_error=None):
        connection = g.pop("read_connection", None)
        if connection is not None:
            try:
                connection.close()
            except DBAPIError:  # the database went away mid-request; the pool replaces it
                pass
