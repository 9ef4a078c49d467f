"""One LISTEN per process, fanned out to every open stream; the figures made once per account,
language and change, however many of the account's pages are open.

Two threads meet here. The event loop (uvicorn's) holds the connections: a stream is a slot for
the latest event and a flag that wakes its response. One thread of ours, the figures thread,
owns everything else: it hears the change feed (the read cache's own, change_feed.py: one LISTEN
connection per process; on a SQLite file it asks `PRAGMA data_version` itself), asks the Flask
app for /api/balance (figures.py) once per group of streams of one account and language, and
hands the events to the loop in batches. A stream that cannot keep up is never queued for: it
has one slot, and a newer event replaces an older one it has not sent yet (every event is the
whole of the figures, so none depends on another).
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy.engine import make_url

from dashboard.extensions import READS_BIND, db
from dashboard.live import figures
from dashboard.metrics import STREAM_EVENTS, STREAM_ROUND_SECONDS, STREAMS_OPEN
from dashboard.read_path import signed_in
from dashboard.read_path.change_feed import EVERYTHING, feed_for
from dashboard.read_path.sqlite_feed import SqliteDataVersion
from dashboard.wallet import holdings

log = logging.getLogger(__name__)

# Changes that may end or move a session (sign-out, "sign out everywhere else", a language
# saved on the account): each stream of the account asks with its own session.
SESSION_TABLES = frozenset({"accounts", "login_sessions"})
# What a change calls for, per account: its sessions asked one by one, its balances read again,
# its figures made again.
SESSIONS, HOLDINGS, FIGURES = 1, 2, 4
POLL_SECONDS = 0.25      # how often the figures thread looks for sessions due and, on SQLite, commits
BATCH = 512              # events handed to the loop at once
RETRY_SECONDS = 2.0      # a stream whose figures could not be made is asked again after this


class Stream:
    """One open /api/stream. Its fields are the figures thread's, but for the slot, the ping, the
    waiter and the time of the last write, which only the loop touches.

    The response waits on a bare future, set by wake(): no asyncio.Event (a future per wait and
    a loop over its waiters) and no wait_for() per wait for the heartbeat (a task and a timer per
    wait, a quarter of the process's CPU at 5,000 streams); one sweep wakes the idle ones."""

    __slots__ = ("headers", "address", "account_id", "locale", "sent_id", "check_at", "closed",
                 "slot", "ended", "ping", "waiter", "written_at")

    def __init__(self, headers: dict[str, str], address: str, last_event_id: str | None):
        self.headers = headers
        self.address = address
        self.account_id: int | None = None
        self.locale: str | None = None
        self.sent_id = last_event_id  # the last event this browser has (or said it has)
        self.check_at: datetime | None = None
        self.closed = False
        self.slot: bytes | None = None   # the next event to send
        self.ended: str | None = None    # why the stream ends, once it does
        self.ping = False                # a heartbeat is due
        self.waiter: asyncio.Future | None = None  # what the response awaits, while it waits
        self.written_at = 0.0            # the loop's time of the last write

    def due(self) -> bool:
        """Something to write, or the end."""
        return self.slot is not None or self.ping or self.ended is not None or self.closed

    def wake(self) -> None:
        """In the loop: the response, if it waits, goes on (it looks at due())."""
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)


class Hub:
    def __init__(self, app: Flask, loop: asyncio.AbstractEventLoop):
        self.app = app
        self.loop = loop
        self.retry_ms = int(app.config["STREAM_RETRY_SECONDS"] * 1000)
        self._cond = threading.Condition()
        self._joining: list[tuple[Stream, asyncio.Future]] = []
        self._leaving: list[Stream] = []
        self._dirty: dict[int, int] = {}   # account id -> what its change calls for (SESSIONS | ...)
        self._all_dirty = 0                  # what a change to every account calls for
        self._holdings: dict[int, holdings.AccountHoldings] = {}  # of the accounts with a stream
        self._groups: dict[tuple[int, str], list[Stream]] = {}
        self._accounts: dict[tuple[int, str], object] = {}  # each group's account, as last found
        self._alike: dict[tuple[int, str], tuple] = {}     # each group's figures.alike(), but the rows
        self._by_account: dict[int, set[tuple[int, str]]] = defaultdict(set)
        self._stopping = False
        self._polling = False
        self._thread = threading.Thread(target=self._run, name="dashboard-live-figures", daemon=True)
        self.streams = 0           # open streams (for /metrics and the bench)
        self.figures_made = 0      # figures made for a group without a request
        self.figures_asked = 0     # /api/balance asked for with a stream's own session
        self.last_round_seconds = 0.0
        self._feed, self._poll = self._listen()

    # -- the loop's side ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    async def join(self, stream: Stream) -> figures.Answer:
        """The stream's first answer; it is registered when that answer is a signed-in one."""
        future = self.loop.create_future()
        with self._cond:
            self._joining.append((stream, future))
            self._cond.notify()
        return await future

    def leave(self, stream: Stream) -> None:
        stream.closed = True
        with self._cond:
            self._leaving.append(stream)
            self._cond.notify()

    def _deliver(self, batch: list[tuple[Stream, bytes | None, str | None]]) -> None:
        for stream, event, ended in batch:
            if event is not None:
                stream.slot = event
            if ended is not None:
                stream.ended = ended
            stream.wake()

    # -- the change feed (its thread, or ours on SQLite) -------------------------------------

    def _listen(self):
        uri = self.app.config["SQLALCHEMY_DATABASE_URI"]
        url = make_url(uri)
        if url.get_backend_name() == "sqlite":
            feed = SqliteDataVersion(url.database) if url.database not in (None, "", ":memory:") else None
            if feed is not None:
                feed.subscribe(self.changed)
            return feed, True
        connect_timeout = self.app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("connect_timeout", 5)
        feed = feed_for(url.set(drivername="postgresql").render_as_string(hide_password=False), connect_timeout)
        feed.subscribe(self.changed)
        feed.stamp()  # starts its thread in this process
        return feed, False

    def changed(self, table, account_id) -> None:
        """The feed's subscriber: marks what must be asked again."""
        if threading.current_thread() is self._thread and not self._polling:
            # A write of our own (a session's "last seen"): the database's notification follows.
            return
        if table is EVERYTHING:
            flags = SESSIONS | HOLDINGS | FIGURES
        elif table in SESSION_TABLES:
            flags = SESSIONS | FIGURES  # the account's switches and language are in its figures
        elif table == "balances":
            flags = HOLDINGS | FIGURES
        else:  # rates, currencies
            flags = FIGURES
        with self._cond:
            if account_id is EVERYTHING:
                self._all_dirty |= flags
            else:
                self._dirty[account_id] = self._dirty.get(account_id, 0) | flags
            self._cond.notify()

    # -- the figures thread ------------------------------------------------------------------

    def _run(self) -> None:
        last_scan = 0.0
        while True:
            with self._cond:
                if not (self._joining or self._leaving or self._dirty or self._all_dirty or self._stopping):
                    self._cond.wait(POLL_SECONDS)
                if self._stopping:
                    return
                joining, self._joining = self._joining, []
                leaving, self._leaving = self._leaving, []
            try:
                for stream in leaving:
                    self._forget(stream)
                if self._poll and self._feed is not None:
                    self._polling = True
                    try:
                        self._feed.poll()
                    finally:
                        self._polling = False
                with self._cond:
                    dirty, self._dirty = self._dirty, {}
                    all_dirty, self._all_dirty = self._all_dirty, 0
                batch: list = []
                for stream, future in joining:
                    self._welcome(stream, future)
                if all_dirty:
                    dirty = {account_id: dirty.get(account_id, 0) | all_dirty for account_id in self._by_account}
                if dirty:
                    started = time.perf_counter()
                    self._round(dirty, batch)
                    self.last_round_seconds = time.perf_counter() - started
                    STREAM_ROUND_SECONDS.observe(self.last_round_seconds)
                now = time.monotonic()
                if now - last_scan >= POLL_SECONDS:
                    last_scan = now
                    self._check_due(batch)
                self._hand_over(batch)
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("live figures: a round failed")
                time.sleep(RETRY_SECONDS)

    def _round(self, dirty: dict[int, int], batch: list) -> None:
        """Every changed account's figures made again: their wallet rows read together first (the
        rates once, the balances of accounts whose balances changed), then asked for per group."""
        accounts = [account_id for account_id in dirty if account_id in self._by_account]
        for account_id in accounts:
            if dirty[account_id] & HOLDINGS:
                self._holdings.pop(account_id, None)
        with self.app.app_context():
            connection = db.engines[READS_BIND].connect()
            try:
                currency_rates = holdings.read_currency_rates(connection)
                missing = [account_id for account_id in accounts if account_id not in self._holdings]
                if missing:
                    self._holdings.update(holdings.read_holdings(connection, missing))
            finally:
                connection.close()
        # Made once per distinct holdings: accounts holding the same share one object, and with it
        # every figure kept with it.
        shared: dict[holdings.AccountHoldings, holdings.WalletRows] = {}
        rows = {}
        for account_id in accounts:
            held = self._holdings[account_id]
            made = shared.get(held)
            if made is None:
                made = shared[held] = holdings.compose_wallet_rows(currency_rates, held)
            rows[account_id] = made
        asked: list[tuple[int, bool]] = []  # accounts whose sessions must answer for themselves
        now = datetime.now(UTC)
        made_here: dict = {}  # what this round made, by everything it is made from
        with self.app.app_context():
            for account_id in accounts:
                if dirty[account_id] & SESSIONS:
                    asked.append((account_id, True))
                else:
                    try:
                        made = self._make(account_id, rows[account_id], now, batch, made_here)
                    except Exception:  # noqa: BLE001 - asked for with a session below instead
                        log.exception("live figures: an account's figures failed")
                        made = False
                    if not made:
                        asked.append((account_id, False))
                if len(batch) >= BATCH:
                    self._hand_over(batch)
                    batch.clear()
        # Outside the app context above: each request pushes its own, with its own `g`.
        with holdings.rows_given(rows):
            for account_id, sessions in asked:
                self._refresh_account(account_id, sessions, batch)
                if len(batch) >= BATCH:
                    self._hand_over(batch)
                    batch.clear()

    def _make(self, account_id: int, rows, now: datetime, batch: list, made_here: dict) -> bool:
        """The account's new figures for each of its groups, from the account as its last answer
        found it (its sessions are valid: an end is heard, or is due, and asked for apart). Made
        once per round for accounts alike in everything the figures are made from."""
        for key in list(self._by_account.get(account_id, ())):
            account = self._accounts.get(key)
            if account is None:
                return False
            # What the figures are made from but the rates: the same until the account's
            # balances, journal, choices or language change (each drops it).
            alike = self._alike.get(key)
            if alike is None or alike[0] is not self._holdings.get(account_id):
                alike = self._alike[key] = (self._holdings.get(account_id), figures.alike(account, key[1], rows))
            alike = (id(rows), alike[1])
            made = made_here.get(alike)
            if made is None:
                made = made_here[alike] = figures.made(account, key[1], rows, now)
                self.figures_made += 1
            event_id, event = made
            for stream in self._groups.get(key, ()):
                if not stream.closed and stream.sent_id != event_id:
                    stream.sent_id = event_id
                    batch.append((stream, event, None))
        return True

    def _hand_over(self, batch: list) -> None:
        if batch:
            STREAM_EVENTS.inc(sum(1 for _stream, event, _ended in batch if event is not None))  # counted before sent
            self.loop.call_soon_threadsafe(self._deliver, list(batch))

    def _ask(self, stream: Stream) -> figures.Answer:
        self.figures_asked += 1
        return figures.ask(self.app, stream.headers, stream.address)

    def _welcome(self, stream: Stream, future: asyncio.Future) -> None:
        try:
            answer = self._ask(stream)
        except Exception as error:  # noqa: BLE001 - refused below, and logged
            log.exception("live figures: a stream's first answer failed")
            self.loop.call_soon_threadsafe(_settle, future, None, error)
            return
        if answer.signed_in and not stream.closed:
            self._place(stream, answer)
            stream.sent_id = answer.event_id  # sent now, or already the browser's (Last-Event-ID)
            self.streams += 1
            STREAMS_OPEN.inc()
        self.loop.call_soon_threadsafe(_settle, future, answer, None)

    def _place(self, stream: Stream, answer: figures.Answer) -> None:
        key = (answer.account_id, answer.locale)
        if stream.account_id is not None and (stream.account_id, stream.locale) != key:
            self._unplace(stream)
        if stream.account_id is None or (stream.account_id, stream.locale) != key:
            self._groups.setdefault(key, []).append(stream)
            self._by_account[answer.account_id].add(key)
        stream.account_id, stream.locale, stream.check_at = answer.account_id, answer.locale, answer.check_at
        if self._accounts.get(key) != answer.account:
            self._alike.pop(key, None)
        self._accounts[key] = answer.account

    def _unplace(self, stream: Stream) -> None:
        key = (stream.account_id, stream.locale)
        group = self._groups.get(key)
        if group is not None and stream in group:
            group.remove(stream)
            if not group:
                del self._groups[key]
                self._accounts.pop(key, None)
                self._alike.pop(key, None)
                keys = self._by_account.get(stream.account_id)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._by_account[stream.account_id]
                        self._holdings.pop(stream.account_id, None)

    def _forget(self, stream: Stream) -> None:
        if stream.account_id is not None:
            self._unplace(stream)
            stream.account_id = None
            self.streams -= 1
            STREAMS_OPEN.dec()

    def _end(self, stream: Stream, reason: str, batch: list) -> None:
        self._forget(stream)
        batch.append((stream, None, reason))

    def _send(self, stream: Stream, answer: figures.Answer, event: bytes, batch: list) -> None:
        if stream.sent_id != answer.event_id:
            stream.sent_id = answer.event_id
            batch.append((stream, event, None))

    def _refresh_account(self, account_id: int, sessions: bool, batch: list) -> None:
        for key in list(self._by_account.get(account_id, ())):
            group = [stream for stream in self._groups.get(key, ()) if not stream.closed]
            if not group:
                continue
            if sessions:
                for stream in group:
                    self._recheck(stream, batch)
                continue
            try:
                answer = self._ask(group[0])
            except Exception:  # noqa: BLE001 - the database may be away: asked again soon
                log.exception("live figures: an account's figures failed")
                self._retry_soon(group)
                continue
            if not answer.signed_in or (answer.account_id, answer.locale) != key:
                for stream in group:  # that session ended or moved: each asks for itself
                    self._recheck(stream, batch)
                continue
            group[0].check_at = answer.check_at
            event = figures.encode(answer.event_id, answer.event)
            for stream in group:
                self._send(stream, answer, event, batch)

    def _recheck(self, stream: Stream, batch: list) -> None:
        try:
            answer = self._ask(stream)
        except Exception:  # noqa: BLE001
            log.exception("live figures: a session's check failed")
            self._retry_soon([stream])
            return
        if not answer.signed_in:
            if answer.status in (401, 403):
                self._end(stream, "signed_out", batch)
            else:  # the database busy or away (a 503): not an end, asked again shortly
                log.warning("live figures: a session's check answered %s; asked again in %.0f s", answer.status, RETRY_SECONDS)
                self._retry_soon([stream])
            return
        self._place(stream, answer)
        self._send(stream, answer, figures.encode(answer.event_id, answer.event), batch)

    def _retry_soon(self, streams: list[Stream]) -> None:
        at = signed_in.now() + timedelta(seconds=RETRY_SECONDS)
        for stream in streams:
            stream.check_at = at

    def _check_due(self, batch: list) -> None:
        at = signed_in.now()
        for group in list(self._groups.values()):
            for stream in list(group):
                if not stream.closed and stream.check_at is not None and stream.check_at <= at:
                    self._recheck(stream, batch)


def _settle(future: asyncio.Future, answer, error) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer)
