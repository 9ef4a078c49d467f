"""Helpers shared by tests: the app in other processes, counted queries, requests sent at once."""
from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event


def reset_and_seed(app) -> None:
    from conftest import empty_tables

    from dashboard.ledger.demo import seed_demo

    empty_tables(app)
    with app.app_context():
        seed_demo()


class TcpProxy:
    """A loopback TCP forwarder that can be stopped and started, to take a database away
    from the app and give it back without touching the real server."""

    def __init__(self, target_host: str, target_port: int):
        import socket

        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener = None
        self._connections: list = []

    def start(self) -> None:
        import socket
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def stop(self) -> None:
        """Refuse new connections and cut the open ones, like a database going away."""
        import socket

        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for connection in self._connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass
        self._connections.clear()


@contextlib.contextmanager
def count_queries(app):
    """Every statement sent on any of the app's engines (the ORM's and the reads engine)."""
    from dashboard.extensions import db

    statements = []
    with app.app_context():
        engines = list(db.engines.values())

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def drop_read_cache(app) -> None:
    """As if this process had just heard that everything changed: the next read goes to the database."""
    from dashboard.read_path.change_feed import EVERYTHING

    cache = app.extensions["dashboard_read_cache"]
    if hasattr(cache, "changed"):
        cache.changed(EVERYTHING, EVERYTHING)


WAIT_SECONDS = 15


def wait_until(condition, what: str):
    """Polls: notifications arrive asynchronously. Not a timing assertion; the bound only stops a
    broken feed from hanging the suite."""
    import pytest

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"not seen within {WAIT_SECONDS} s: {what}")


def sent_at_once(monkeypatch, module, name: str, send, *, count: int, refused: int = 429) -> tuple[list[int], int]:
    """`send(number)` called from `count` threads at once; it returns a status. Each request that
    reaches `module.name` (the check a throttle guards) is held there until every request has
    either reached it or been answered `refused`: the widest race there can be, made without
    any timing. Returns the statuses and how many requests reached the check."""
    lock, reached, refusals = threading.Lock(), [0], [0]
    everyone_arrived = threading.Event()
    guarded = getattr(module, name)

    def settle():
        if reached[0] + refusals[0] == count:
            everyone_arrived.set()

    def held(*args, **kwargs):
        with lock:
            reached[0] += 1
            settle()
        everyone_arrived.wait(timeout=10)
        return guarded(*args, **kwargs)

    monkeypatch.setattr(module, name, held)

    def one(number: int) -> int:
        status = send(number)
        if status == refused:
            with lock:
                refusals[0] += 1
                settle()
        return status

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            statuses = list(pool.map(one, range(count)))
    finally:
        monkeypatch.setattr(module, name, guarded)
    if not everyone_arrived.is_set():
        raise AssertionError(f"only {reached[0]} reached {name} and {refusals[0]} were refused, of {count}")
    return statuses, reached[0]
