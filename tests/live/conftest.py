"""The stream process served in-process (uvicorn in a thread) over the test's Flask app, and a
small reader of Server-Sent Events over a plain HTTP connection."""
from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass

import pytest


@pytest.fixture
def stream_server(app):
    """The stream app (dashboard/live) for `app`, on 127.0.0.1: yields (host, port)."""
    import uvicorn

    from dashboard.live.stream import stream_app

    server = uvicorn.Server(uvicorn.Config(stream_app(app), host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on", loop="asyncio", http="h11"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stream server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Event:
    name: str | None
    id: str | None
    data: str | None
    comment: str | None = None

    def json(self):
        return json.loads(self.data)


class EventReader:
    """GET /api/stream with the given headers; events read one at a time (None once it ended)."""

    def __init__(self, address, headers: dict[str, str], timeout: float = 15):
        self.timeout = timeout
        self.connection = http.client.HTTPConnection(*address, timeout=timeout)
        self.connection.request("GET", "/api/stream", headers={"Accept": "text/event-stream", **headers})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers

    def next(self, *, comments: bool = False) -> Event | None:
        """The next event (or, with comments, the next comment too); None when the stream closed.
        Fails after `timeout` seconds without one: heartbeats alone would keep a read waiting for
        an event that never comes for ever."""
        name = event_id = data = None
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {'line' if comments else 'event'} within {self.timeout} s (heartbeats only)")
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if name or event_id or data is not None:
                    return Event(name, event_id, data)
                continue
            if line.startswith(":"):
                if comments:
                    return Event(None, None, None, comment=line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "id":
                event_id = value
            elif field == "data":
                data = value if data is None else data + "\n" + value

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def open_stream(stream_server):
    readers = []

    def open_(headers=None, **kwargs) -> EventReader:
        reader = EventReader(stream_server, headers or {}, **kwargs)
        readers.append(reader)
        return reader

    yield open_
    for reader in readers:
        reader.close()


def cookie_of(client, app) -> str:
    """The test client's session cookie, as a browser sends it."""
    name = app.config.get("SESSION_COOKIE_NAME", "session")
    cookie = client.get_cookie(name)
    assert cookie is not None, "not signed in"
    return f"{name}={cookie.value}"
