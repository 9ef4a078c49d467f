"""Tells the read cache, on SQLite, whether anything at all was committed since it last asked.

SQLite has no LISTEN/NOTIFY, but it counts commits: `PRAGMA data_version` on one connection
changes whenever any other connection (of this process or another) has committed a change to
the file. One private, read-only connection per process asks before every cache lookup — a
call into SQLite that reads no table row — and any change empties the cache. That is coarser
than PostgreSQL's per-account notifications (a rate tick empties every wallet), and enough:
the embedded default serves one machine, and what it saves is the two queries of every
refresh that finds nothing changed.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from urllib.request import pathname2url

from dashboard.read_path.change_feed import EVERYTHING


class SqliteDataVersion:
    """The read cache's feed for a SQLite file: the same questions as ChangeFeed answers."""

    def __init__(self, path: str):
        self._path = path
        self._lock = threading.Lock()
        self._subscribers: list[weakref.WeakMethod] = []
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._version: int | None = None
        self.generation = 0
        self.listening = True  # nothing to lose: every lookup asks the file itself

    def subscribe(self, method) -> None:
        with self._lock:
            self._subscribers.append(weakref.WeakMethod(method))

    def poll(self) -> None:
        """Empties the subscribers' caches if anything was committed since the last poll."""
        with self._lock:
            try:
                version = self._ask()
            except sqlite3.Error:
                version = None  # cannot tell: treat as changed, and ask afresh next time
                self._close()
            if version is not None and version == self._version:
                return
            self._version = version
            self.generation += 1
            subscribers = list(self._subscribers)
        for reference in subscribers:
            method = reference()
            if method is not None:
                method(EVERYTHING, EVERYTHING)

    def stamp(self) -> int:
        self.poll()
        return self.generation

    def unchanged_since(self, stamp: int | None) -> bool:
        self.poll()
        return stamp is not None and self.generation == stamp and self._version is not None

    def changed_here(self) -> None:
        # This process's own commits are other connections' commits too: the next poll sees them.
        self.poll()

    def _ask(self) -> int:
        # A connection does not survive gunicorn's fork: each worker opens its own.
        if self._connection is None or self._pid != os.getpid():
            self._connection = sqlite3.connect(f"file:{pathname2url(self._path)}?mode=ro", uri=True,
                                               check_same_thread=False, isolation_level=None)
            self._pid = os.getpid()
        return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def _close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            try:
                self._connection.close()
            except sqlite3.Error:
                pass
        self._connection = None
