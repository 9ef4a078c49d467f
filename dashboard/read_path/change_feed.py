"""Hears, in this process, of every committed change to the rows the signed-in pages cache.

PostgreSQL's triggers (migrations 0004 and 0011) send NOTIFY on every committed change to
accounts, sign-in sessions, balances, rates and currencies, once per statement and account (or
once for every account, past a thousand of them); a thread per process LISTENs on its own connection
and passes each change to the caches that subscribed (read_cache.py). The caches ask the feed
two things: is it listening (if not, nothing may be cached, since a change could go unheard),
and has anything been heard since a given moment (so a read that raced a change is not stored).

With replicas (replicas.py), the feed also says where in the primary's write-ahead log each
change was: after each batch of notifications it asks the primary's position on its own
connection and, before any cache hears of the change, records it for the accounts the batch
named (write_positions.py), so a read that follows the eviction waits for a replica that has
replayed the change. It does the same when it (re)connects: what went unheard before must be
replayed before a replica is read.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import weakref

import psycopg

from dashboard.metrics import CHANGE_FEED_LAST_NOTIFICATION, CHANGE_FEED_RECONNECTS
from dashboard.read_path.write_positions import WritePositions, parse_lsn

log = logging.getLogger(__name__)

CHANNEL = "dashboard_changes"
EVERYTHING = None  # what subscribers are told when changes may have gone unheard

# A silent network failure does not close a socket; a round trip this often does notice it.
HEARTBEAT_SECONDS = 5.0
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class ChangeFeed:
    """One LISTEN connection per process and database, shared by every app in the process."""

    def __init__(self, conninfo: str, connect_timeout: int = 5):
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._subscribers: list[weakref.WeakMethod] = []
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.generation = 0     # bumped for every change heard, and whenever changes may have been missed
        self.listening = False  # True only while LISTEN is known to be in place
        self.schema: str | None = None
        self.backend_pid: int | None = None  # the LISTEN connection's server process, for operators and tests
        self.positions: WritePositions | None = None  # with replicas: where each change was written
        self._closed = threading.Event()

    # -- what the caches use ---------------------------------------------------------------

    def subscribe(self, method) -> None:
        """method(table, account_id) is called for each change; weakly held, so an app (and its
        caches) can be collected. table and account_id are EVERYTHING when anything may have changed."""
        with self._lock:
            self._subscribers.append(weakref.WeakMethod(method))

    def stamp(self) -> int | None:
        """Taken before a read: None when the feed is not listening (do not cache the result)."""
        self._ensure_running()
        return self.generation if self.listening else None

    def unchanged_since(self, stamp: int | None) -> bool:
        """Whether a read that began at stamp may be cached: listening all along, nothing heard."""
        return stamp is not None and self.listening and self.generation == stamp

    def changed_here(self) -> None:
        """This process is about to commit a change to a watched table: drop what may be stale
        at once, for read-your-writes; the notification that follows the commit does it again."""
        self._publish(EVERYTHING, EVERYTHING)

    def track_positions(self) -> WritePositions:
        """Record the primary's position of every change heard (for replicas.py); once per feed."""
        with self._lock:
            if self.positions is None:
                self.positions = WritePositions()
            return self.positions

    # -- the listening thread ----------------------------------------------------------------

    def _ensure_running(self) -> None:
        # Started on first use in each process: gunicorn forks workers after the app is built,
        # and a thread does not survive a fork.
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None:
                return
            self.listening = False
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="dashboard-change-feed", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop listening for good (a database that is going away: the tests' own clusters)."""
        self._closed.set()
        self.listening = False

    def _run(self) -> None:
        failures = 0
        connected_before = False
        while not self._closed.is_set():  # a daemon thread: it ends with the process, or when closed
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._connect_timeout,
                                     application_name="dashboard-change-feed") as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.schema = connection.execute("SELECT current_schema()").fetchone()[0]
                    self.backend_pid = connection.info.backend_pid
                    # Anything may have changed while nobody listened: drop it all, then trust the
                    # feed (and, with replicas, read nothing older than now from them).
                    if self.positions is not None:
                        self.positions.wrote_everything(_position(connection))
                    self._publish(EVERYTHING, EVERYTHING)
                    self.listening = True
                    if connected_before:
                        CHANGE_FEED_RECONNECTS.inc()
                    connected_before = True
                    failures = 0
                    while not self._closed.is_set():
                        batch = [notification.payload for notification in
                                 connection.notifies(timeout=HEARTBEAT_SECONDS, stop_after=1)]
                        if not batch:
                            if self.positions is not None and not self.positions.floor:
                                # Positions asked for after this connection began listening.
                                self.positions.wrote_everything(_position(connection))
                            else:
                                connection.execute("SELECT 1")
                            continue
                        # What arrived with it, then one question for the whole batch.
                        batch += [notification.payload for notification in connection.notifies(timeout=0)]
                        position = _position(connection) if self.positions is not None else None
                        for payload in batch:
                            self._heard(payload, position)
            except Exception as error:  # noqa: BLE001 - any failure means: stop trusting the cache
                if self._closed.is_set():
                    break
                log.warning("change feed lost (%s: %s); caching is off until it is back",
                            error.__class__.__name__, error)
            finally:
                self.listening = False
                self._publish(EVERYTHING, EVERYTHING)
            if self._closed.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]):
                break
            failures += 1

    def _heard(self, payload: str, position: int | None = None) -> None:
        schema, _, rest = payload.partition(":")
        if schema != self.schema:
            return  # another schema of the same database (tests and benches use several)
        CHANGE_FEED_LAST_NOTIFICATION.set(time.time())
        table, _, account = rest.partition(":")
        account_id = EVERYTHING if account == "*" else _account_id(account)
        if position is not None and self.positions is not None:
            # Before the caches hear: a read after the eviction must already wait for this.
            if account_id is EVERYTHING or table in ("rates", "currencies"):
                self.positions.wrote_everything(position)
            else:
                self.positions.wrote((account_id,), position)
        self._publish(table, account_id)

    def _publish(self, table, account_id) -> None:
        with self._lock:
            self.generation += 1
            subscribers = list(self._subscribers)
        dead = []
        for reference in subscribers:
            method = reference()
            if method is None:
                dead.append(reference)
                continue
            method(table, account_id)
        if dead:
            with self._lock:
                self._subscribers = [reference for reference in self._subscribers if reference not in dead]


def _position(connection) -> int:
    """The primary's write position now: at or past every commit whose notification was heard."""
    return parse_lsn(connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])


def _account_id(text: str):
    try:
        return int(text)
    except ValueError:
        return EVERYTHING  # not expected from our triggers; the safe answer is "anything"


_FEEDS: dict[str, ChangeFeed] = {}
_FEEDS_LOCK = threading.Lock()


def close_feeds(where) -> None:
    """Close and forget this process's feeds whose conninfo where(conninfo) accepts."""
    with _FEEDS_LOCK:
        closing = [conninfo for conninfo in _FEEDS if where(conninfo)]
        for conninfo in closing:
            _FEEDS.pop(conninfo).close()


def feed_for(conninfo: str, connect_timeout: int = 5) -> ChangeFeed:
    """The process's feed for a database (one LISTEN connection however many apps use it)."""
    with _FEEDS_LOCK:
        feed = _FEEDS.get(conninfo)
        if feed is None:
            feed = _FEEDS[conninfo] = ChangeFeed(conninfo, connect_timeout)
        return feed
