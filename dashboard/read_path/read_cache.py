"""Recently read sign-in sessions and wallets, kept in this process while the database says
they are unchanged (change_feed.py), so a signed-in request usually sends no SQL at all.

On PostgreSQL, triggers announce every change (change_feed.py); on a SQLite file, every lookup
first asks SQLite whether anything was committed since (sqlite_feed.py). With an in-memory
SQLite database, or READ_CACHE_SECONDS = 0, every request reads the database. Whatever goes
wrong, the worst case is a cache miss: nothing is stored unless the feed is listening, a read
that raced a change is not stored, losing the feed drops everything, and no entry outlives
READ_CACHE_SECONDS.

With replicas (replicas.py) each entry is kept with the write-ahead-log position its read was at
least as new as, and a browser whose last write (in its session cookie) is newer than an entry
does not get that entry: it reads afresh, from a replica that has replayed its write or from
the primary. What the feed hears is already waited for by the read that follows the eviction.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TypeVar

from cachetools import TTLCache
from flask import Flask, current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import make_url

from dashboard.metrics import READ_CACHE_LOOKUPS
from dashboard.read_path import replicas
from dashboard.read_path.change_feed import EVERYTHING, ChangeFeed, feed_for
from dashboard.read_path.sqlite_feed import SqliteDataVersion

T = TypeVar("T")

WATCHED_TABLES = ("accounts", "login_sessions", "balances", "rates", "currencies")
# The labelled children, found once: a lookup costs one increment, not a label lookup too.
_SESSION_LOOKUPS = (READ_CACHE_LOOKUPS.labels("sessions", "hit"), READ_CACHE_LOOKUPS.labels("sessions", "miss"))
_WALLET_LOOKUPS = (READ_CACHE_LOOKUPS.labels("wallets", "hit"), READ_CACHE_LOOKUPS.labels("wallets", "miss"))


class ReadCache:
    def __init__(self, feed: ChangeFeed, *, seconds: float, max_sessions: int, max_wallets: int):
        self._feed = feed
        # Re-entrant: SQLite's feed finds a change while it is asked (unchanged_since, under this
        # lock in _through) and calls changed(), which takes it, in the same thread.
        self._lock = threading.RLock()
        # Each value is (what was read, the log position it is at least as new as; 0 without replicas).
        self._sessions: TTLCache = TTLCache(max_sessions, seconds)  # token hash -> ((account id, ...), position)
        self._wallets: TTLCache = TTLCache(max_wallets, seconds)    # account id -> (wallet rows, position)
        # account id -> token hashes stored for it, so a change to one account (sign-out,
        # settings) evicts its sessions without a scan. Entries the TTL or LRU dropped linger
        # here until their account changes or the index is rebuilt; popping them is harmless.
        self._sessions_by_account: dict[int, set[str]] = {}
        self._max_sessions = max_sessions
        # SQLite's feed is asked before each lookup; PostgreSQL's tells us from its own thread.
        self._poll = getattr(feed, "poll", None)
        feed.subscribe(self.changed)
        # Set by replicas.py: the browser's last write, and the position of the read just made.
        self._at_least: Callable[[], int] = _nothing
        self._read_position: Callable[[], int] = _nothing

    def follow_positions(self, at_least: Callable[[], int], read_position: Callable[[], int]) -> None:
        self._at_least, self._read_position = at_least, read_position

    def signed_in(self, token_hash: str, read: Callable[[], T]) -> T:
        """The account row of a sign-in session (first field: the account id), or None."""
        return self._through(self._sessions, token_hash, read, self._index_session, counted=_SESSION_LOOKUPS)

    def wallet(self, account_id: int, read: Callable[[], T]) -> T:
        return self._through(self._wallets, account_id, read, counted=_WALLET_LOOKUPS)

    def still_holds(self, token_hash: str, session_row, account_id: int, wallet, at_least: int = 0) -> bool:
        """Whether the very session row and wallet rows a request used are still the ones held:
        nothing changed them, nothing evicted them, they have not expired, and they are as new
        as the browser's last write (at_least)."""
        if self._poll is not None:
            self._poll()
        with self._lock:
            session_entry, wallet_entry = self._sessions.get(token_hash), self._wallets.get(account_id)
        return (session_entry is not None and wallet_entry is not None and session_entry[0] is session_row
                and wallet_entry[0] is wallet and session_entry[1] >= at_least and wallet_entry[1] >= at_least)

    def _index_session(self, token_hash: str, row) -> None:
        # Called under the lock.
        if len(self._sessions_by_account) > 2 * self._max_sessions:
            self._sessions_by_account = {}
            for key, (cached, _position) in self._sessions.items():
                self._sessions_by_account.setdefault(cached[0], set()).add(key)
        self._sessions_by_account.setdefault(row[0], set()).add(token_hash)

    def _through(self, cache: TTLCache, key, read: Callable[[], T], on_store=None, *, counted) -> T:
        if self._poll is not None:
            self._poll()
        with self._lock:
            entry = cache.get(key)
        hit, miss = counted
        if entry is not None and entry[1] >= self._at_least():
            hit.inc()
            return entry[0]
        miss.inc()
        stamp = self._feed.stamp()
        value = read()
        if value is not None:
            position = self._read_position()
            # Checked and stored under the lock that eviction takes: a change heard after the
            # read began either stops the store or, heard later, evicts what was stored.
            with self._lock:
                if self._feed.unchanged_since(stamp):
                    cache[key] = (value, position)
                    if on_store is not None:
                        on_store(key, value)
        return value

    def changed(self, table, account_id) -> None:
        """Called by the feed for every change (and with EVERYTHING when changes were missed)."""
        with self._lock:
            if table is EVERYTHING:
                self._sessions.clear()
                self._sessions_by_account.clear()
                self._wallets.clear()
            elif table in ("rates", "currencies") or account_id is EVERYTHING:
                self._wallets.clear()
                if table in ("accounts", "login_sessions"):
                    self._sessions.clear()
                    self._sessions_by_account.clear()
            elif table == "balances":
                self._wallets.pop(account_id, None)
            elif table in ("accounts", "login_sessions"):
                for token_hash in self._sessions_by_account.pop(account_id, ()):
                    self._sessions.pop(token_hash, None)


def _nothing() -> int:
    return 0


class NoCache:
    """An in-memory SQLite database, or caching turned off: every read goes to the database."""

    def signed_in(self, token_hash: str, read: Callable[[], T]) -> T:
        return read()

    def wallet(self, account_id: int, read: Callable[[], T]) -> T:
        return read()

    def still_holds(self, token_hash: str, session_row, account_id: int, wallet, at_least: int = 0) -> bool:
        return False


def current() -> ReadCache | NoCache:
    return of(current_app)


def of(app: Flask) -> ReadCache | NoCache:
    return app.extensions["dashboard_read_cache"]


_WRITE_TARGET = re.compile(r'\s*(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?)\s+"?(\w+)"?', re.IGNORECASE)


def _writes_watched_table(statement: str) -> bool:
    target = _WRITE_TARGET.match(statement)
    return target is not None and target.group(1).lower() in WATCHED_TABLES


def init_app(app: Flask, engine, replica_engines: dict | None = None) -> None:
    """engine: the app's main (writing) engine; replica_engines: name -> engine of each replica."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    seconds = app.config["READ_CACHE_SECONDS"]
    url = make_url(uri)
    if seconds > 0 and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        app.extensions["dashboard_read_cache"] = ReadCache(
            SqliteDataVersion(url.database), seconds=seconds,
            max_sessions=app.config["READ_CACHE_SESSIONS"], max_wallets=app.config["READ_CACHE_WALLETS"])
        return
    if not uri.startswith("postgresql") or (seconds <= 0 and not replica_engines):
        app.extensions["dashboard_read_cache"] = NoCache()
        return
    connect_timeout = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("connect_timeout", 5)
    # LISTEN needs a session of its own on the primary: DATABASE_LISTEN_URL when DATABASE_URL is
    # a transaction-pooling PgBouncer, which cannot carry it.
    listen_url = make_url(app.config.get("DATABASE_LISTEN_URL") or uri)
    feed = feed_for(listen_url.set(drivername="postgresql").render_as_string(hide_password=False), connect_timeout)
    app.extensions["dashboard_change_feed"] = feed
    if seconds > 0:
        cache = ReadCache(feed, seconds=seconds, max_sessions=app.config["READ_CACHE_SESSIONS"],
                          max_wallets=app.config["READ_CACHE_WALLETS"])
    else:  # replicas without the cache: the feed still says where each account was written
        cache = NoCache()
    app.extensions["dashboard_read_cache"] = cache
    router = None
    if replica_engines:
        router = replicas.init_app(app, feed, feed.track_positions(), replica_engines)
        if isinstance(cache, ReadCache):
            cache.follow_positions(router.browser_position, replicas.read_position)

    # Read-your-writes in this process: a write to a watched table through the app's own
    # engine drops the cache before it commits; other processes hear the notification.
    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn, cursor, statement, parameters, context, executemany):
        if _writes_watched_table(statement):
            conn.info["dashboard_watched_write"] = True
            if router is not None and has_request_context():
                # The rest of this request reads what it wrote: no replica has it yet.
                g.read_pin = replicas.PRIMARY

    @event.listens_for(engine, "commit")
    def _before_commit(conn):
        if conn.info.pop("dashboard_watched_write", False):
            feed.changed_here()
            if router is not None and has_request_context():
                g.wrote_watched = True  # the browser's next reads wait for this (replicas.py)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn):
        # A connection the server dropped mid-transaction (a restart) is invalidated: asking it
        # for its info would raise PendingRollbackError over the database's own error. The pool
        # replaces it; a flag left on its record only evicts once more at a later commit.
        if not conn.invalidated:
            conn.info.pop("dashboard_watched_write", None)

