"""The signed-in read path's reads on PostgreSQL streaming replicas, with read-your-writes.

DATABASE_REPLICA_URLS names the replicas. A read for an account (its session, wallet, history,
activity) goes to a replica only when that replica has replayed the primary's write-ahead log
past everything this browser and this account need (write_positions.py): the browser's own last
write (its position, asked of the primary after the commit, travels in the session cookie), the
account's last change heard by the change feed, and the feed's floor. Each replica's own
position is checked against it, never "some replica caught up" (GitLab's bug #413203). A
replica further behind than REPLICA_MAX_LAG_SECONDS, or unreachable, is left alone for a while;
a read that fails on a replica is read again on the primary, so a replica lost costs no request.
With no replica fresh enough, or the feed not listening (then a change could go unheard), the
read goes to the primary. Writes, locking reads and the feed's LISTEN never come here.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, session
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from dashboard.extensions import db
from dashboard.metrics import REPLICA_READS
from dashboard.read_path.write_positions import WritePositions, format_lsn, parse_lsn

log = logging.getLogger(__name__)
T = TypeVar("T")

PRIMARY = "primary"
SIGNED_IN_KEY = "_user_id"  # Flask-Login's, in the session
# The browser's last write, in its session cookie (Flask's, signed: a browser cannot lower it).
SESSION_KEY = "wal"
# A replica's position is asked again after this long; sooner when a read needs more than it
# had, but at most this often (each process asks each replica, one statement).
STATUS_SECONDS = 1.0
RECHECK_SECONDS = 0.05
# An unreachable replica is tried again after this long.
RETRY_SECONDS = 5.0

# Lag in seconds: none while the replica has replayed all it received, else the age of the last
# transaction it replayed (a paused or slow replay grows it; an idle primary does not).
STATUS_QUERY = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)
PRIMARY_POSITION = text("SELECT pg_current_wal_lsn()::text")

_TO_REPLICA, _TO_PRIMARY, _FELL_BACK = (REPLICA_READS.labels("replica"), REPLICA_READS.labels("primary"),
                                        REPLICA_READS.labels("fallback"))


@dataclass
class Replica:
    name: str
    engine: Engine
    replayed: int = 0           # pg_last_wal_replay_lsn() when last asked
    lag_seconds: float = 0.0
    checked_at: float = 0.0     # time.monotonic() of that answer; 0: never
    down_until: float = 0.0     # unreachable or not a replica: left alone until then

    def may_serve(self, needed: int, max_lag: float, now: float) -> bool | None:
        """True: fresh enough by what is known; False: not now; None: ask it first."""
        if now < self.down_until:
            return False
        if self.checked_at == 0.0 or now - self.checked_at >= STATUS_SECONDS:
            return None
        if self.lag_seconds > max_lag:
            return False
        if self.replayed >= needed:
            return True
        return None if now - self.checked_at >= RECHECK_SECONDS else False


class ReplicaRouter:
    def __init__(self, replicas: list[Replica], feed, positions: WritePositions, *, max_lag: float):
        self.replicas = replicas
        self.feed = feed
        self.positions = positions
        self.max_lag = max_lag
        self._turn = itertools.count()
        self._lock = threading.Lock()

    # -- what a request asks -----------------------------------------------------------------

    def browser_position(self) -> int:
        """The position of this browser's last write (0 outside a request or before any)."""
        return position_of(session) if has_request_context() else 0

    def needed(self, account_id: int | None) -> int:
        return max(self.positions.needed(account_id), self.browser_position())

    def read(self, account_id: int | None, run: Callable[[Connection], T], primary: Callable[[], Connection]) -> tuple[T, int]:
        """run(connection) on a replica fresh enough for this browser and account, else on the
        primary; with the position the answer is at least as new as."""
        needed = self.needed(account_id)
        # A request's reads never go back in time: once on a replica it stays there while that
        # replica is fresh enough, and once on the primary it stays there (a history's version
        # and its points must not come from two replicas, the second behind the first).
        pinned = g.get("read_pin")
        # Without the feed listening (and having taken its first position), a change could go
        # unheard: only the primary is sure.
        if pinned != PRIMARY and self.feed.stamp() is not None and self.positions.floor:
            for replica in self._in_turn() if pinned is None else [r for r in self.replicas if r.name == pinned]:
                connection, replayed = self._connection_to(replica, needed)
                if connection is None:
                    continue
                try:
                    answer = run(connection)
                except DBAPIError as error:
                    self._lost(replica, connection, error)
                    _FELL_BACK.inc()
                    break
                _TO_REPLICA.inc()
                g.read_pin = replica.name
                return answer, replayed
        _TO_PRIMARY.inc()
        g.read_pin = PRIMARY
        at_least = max(self.positions.primary_seen, needed)
        return run(primary()), at_least

    def _in_turn(self) -> list[Replica]:
        # Each request starts with the next replica, so the reads spread over all of them.
        start = next(self._turn) % len(self.replicas)
        return self.replicas[start:] + self.replicas[:start]

    def _connection_to(self, replica: Replica, needed: int) -> tuple[Connection | None, int]:
        now = time.monotonic()
        verdict = replica.may_serve(needed, self.max_lag, now)
        if verdict is False:
            return None, 0
        connections = g.setdefault("replica_connections", {})
        connection = connections.get(replica.name)
        try:
            if connection is None:
                connection = connections[replica.name] = replica.engine.connect()
            if verdict is None:
                self._ask(replica, connection)
        except DBAPIError as error:
            self._lost(replica, connection, error)
            return None, 0
        if replica.down_until > now or replica.lag_seconds > self.max_lag or replica.replayed < needed:
            return None, 0
        return connection, replica.replayed

    def _ask(self, replica: Replica, connection: Connection) -> None:
        in_recovery, replayed, lag = connection.execute(STATUS_QUERY).one()
        now = time.monotonic()
        if not in_recovery:
            # Promoted, or never a replica: its writes are not the primary's. Not read from.
            log.warning("replica %s is not in recovery; not reading from it", replica.name)
            replica.down_until = now + RETRY_SECONDS
            return
        replica.replayed, replica.lag_seconds, replica.checked_at = parse_lsn(replayed), float(lag), now
        if replica.lag_seconds > self.max_lag:
            log.info("replica %s is %.1f s behind; reading from another", replica.name, replica.lag_seconds)
        # What every replica has replayed needs no remembering.
        self.positions.replayed_everywhere(min(other.replayed for other in self.replicas))

    def _lost(self, replica: Replica, connection: Connection | None, error: Exception) -> None:
        log.warning("replica %s unreachable (%s); reading from the others or the primary for %.0f s",
                    replica.name, error.__class__.__name__, RETRY_SECONDS)
        replica.down_until = time.monotonic() + RETRY_SECONDS
        replica.checked_at = 0.0
        g.get("replica_connections", {}).pop(replica.name, None)
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except DBAPIError:
                pass
        # The pool's other connections are likely as dead (a restart, a failover): made anew next time.
        replica.engine.dispose()

    # -- after a write -----------------------------------------------------------------------

    def remember_write(self, primary_engine: Engine) -> None:
        """This request committed a change: the browser's next reads need the primary's position
        now (taken after the commit, so at or past it), whichever process serves them."""
        with primary_engine.connect() as connection:
            lsn = parse_lsn(connection.execute(PRIMARY_POSITION).scalar())
        self.positions.saw_primary_at(lsn)
        if lsn > self.browser_position():
            session[SESSION_KEY] = format_lsn(lsn)


def position_of(contents) -> int:
    """The browser's last write in a session's contents (0: none, or nothing readable)."""
    value = contents.get(SESSION_KEY) if contents else None
    try:
        return parse_lsn(value) if isinstance(value, str) else 0
    except ValueError:
        return 0


def of(app: Flask) -> ReplicaRouter | None:
    return app.extensions.get("dashboard_replicas")


def current() -> ReplicaRouter | None:
    return of(current_app) if has_request_context() else None


def read(account_id: int | None, run: Callable[[Connection], T], primary: Callable[[], Connection]) -> T:
    """run(connection) for an account's reads in a request: on a fresh-enough replica when there
    are replicas, else on primary() (the request's reads connection, or the session's own
    connection where a read must see the transaction's writes). g.read_position says how new."""
    router = current()
    if router is None:
        return run(primary())
    answer, position = router.read(account_id, run, primary)
    g.read_position = position
    return answer


def read_position() -> int:
    """How new the last read() of this request was (what the read cache stores with it)."""
    return g.get("read_position", 0) if has_request_context() else 0


def close_connections() -> None:
    for connection in g.pop("replica_connections", {}).values():
        try:
            connection.close()
        except DBAPIError:
            pass


def init_app(app: Flask, feed, positions: WritePositions, engines: dict[str, Engine]) -> ReplicaRouter:
    router = ReplicaRouter([Replica(name, engine) for name, engine in engines.items()], feed, positions,
                           max_lag=app.config["REPLICA_MAX_LAG_SECONDS"])
    app.extensions["dashboard_replicas"] = router

    @app.after_request
    def remember_write(response):
        # Only for a signed-in browser: a sign-out's write leaves nothing to read back.
        if g.pop("wrote_watched", False) and session.get(SIGNED_IN_KEY):
            try:
                router.remember_write(db.engine)
            except DBAPIError as error:  # the write is committed; the feed's floor still holds it
                log.warning("could not ask the primary's position after a write (%s)", error.__class__.__name__)
        return response

    return router
