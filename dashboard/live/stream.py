"""GET /api/stream: the signed-in account's figures as Server-Sent Events, an ASGI app
(Starlette) over the Flask app, which decides who is signed in and makes the figures.

Events: `figures`, whose data is {"balance": <the /api/balance document>, "allocation": <the
allocation chart's slices>} and whose id is /api/balance's ETag for that document; `end` when
the session ends (then the stream closes; the browser should not reconnect). A heartbeat comment
every STREAM_HEARTBEAT_SECONDS. A reconnect with Last-Event-ID equal to the current figures'
id gets no first event (it has them already); with any other id, the current figures: every
event is the whole of the figures, so the latest one leaves no gap.
"""
from __future__ import annotations

import asyncio
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path

from flask import Flask
from prometheus_client import multiprocess
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from dashboard.live.figures import FORWARDED_HEADERS, encode
from dashboard.live.hub import Hub, Stream
from dashboard.metrics import STREAMS_REFUSED

# Our ids are /api/balance's ETags: hex digests. Anything else was not sent by us.
EVENT_ID = re.compile(r"[0-9a-f]{1,64}")
ENDED = b'event: end\r\ndata: {"reason":"signed_out"}\r\n\r\n'
PING = b": ping\r\n\r\n"
# Headers of /api/balance's answer that do not describe a stream.
_NOT_FOR_STREAMS = frozenset({"cache-control", "set-cookie", "connection", "x-accel-buffering"})


class _EventStream:
    """The stream's answer, as a plain ASGI response: the headers, then each event as it comes,
    a heartbeat comment when none came for a while, until the session ends or the browser goes.

    Not sse-starlette's EventSourceResponse: its task group, memory stream and cancel scope around
    every send cost 86 µs of CPU an event sent, twice what the rest of the work costs, at
    thousands of streams. A browser that stops reading holds one slot (the latest event), never
    a queue; its disconnect ends the stream."""

    def __init__(self, hub: Hub, joined: Stream, first: bytes, headers: dict[str, str], open_streams: set[Stream]):
        self.hub, self.joined, self.first, self.open_streams = hub, joined, first, open_streams
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        self.headers += [(b"content-type", b"text/event-stream; charset=utf-8"), (b"x-accel-buffering", b"no")]

    async def __call__(self, scope, receive, send) -> None:
        joined = self.joined
        loop = asyncio.get_running_loop()
        gone = asyncio.ensure_future(_disconnected(receive, joined))
        self.open_streams.add(joined)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            await send({"type": "http.response.body", "body": self.first, "more_body": True})
            joined.written_at = loop.time()
            while True:
                if not joined.due():
                    joined.waiter = loop.create_future()
                    await joined.waiter
                if joined.closed:
                    break
                if joined.slot is not None:
                    body, joined.slot = joined.slot, None
                elif joined.ended is None:
                    body = PING
                else:
                    body = b""
                joined.ping = False
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    joined.written_at = loop.time()
                if joined.ended is not None:
                    await send({"type": "http.response.body", "body": ENDED, "more_body": True})
                    break
            if not joined.closed:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the browser went while we wrote
        finally:
            gone.cancel()
            self.open_streams.discard(joined)
            self.hub.leave(joined)


async def _disconnected(receive, joined: Stream) -> None:
    """Waits for the browser to go, then wakes the stream to end it."""
    while (await receive())["type"] != "http.disconnect":
        pass
    joined.closed = True
    joined.wake()


async def _heartbeats(open_streams: set[Stream], every: float) -> None:
    """Wakes each stream nothing was written to for `every` seconds, to write a comment: one
    sweep over the streams a second (or four per interval, when shorter), not a timer a stream."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(min(1.0, every / 4))
        quiet_since = loop.time() - every
        for joined in open_streams:
            if joined.written_at <= quiet_since and not joined.ping:
                joined.ping = True
                joined.wake()


def forget_dead_processes(*pids: int) -> None:
    """In prometheus_client's multiprocess mode, the open-streams gauge of processes that are
    gone: these (this one, stopping), or, with none given, any whose file is here and whose
    process is not (a stream process killed before its lifespan ended). A stream process has no
    supervisor that calls mark_process_dead, as gunicorn does for its workers."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    if not pids:
        found = (re.fullmatch(r"gauge_live\w+_(\d+)\.db", path.name) for path in Path(directory).glob("gauge_live*_*.db"))
        pids = tuple(int(match.group(1)) for match in found if match and not _alive(int(match.group(1))))
    for pid in pids:
        multiprocess.mark_process_dead(pid, directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def stream(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    last_event_id = request.headers.get("last-event-id")
    if last_event_id is not None and not EVENT_ID.fullmatch(last_event_id):
        STREAMS_REFUSED.labels("400").inc()
        return JSONResponse({"error": "Last-Event-ID must be an id this stream sent (hexadecimal digits)."},
                            status_code=400, headers={"Cache-Control": "no-store"})
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    client = request.client.host if request.client else ""
    joined = Stream(headers, client, last_event_id)
    try:
        answer = await hub.join(joined)
    except Exception:  # noqa: BLE001 - the database may be away: the page falls back to its refresh
        STREAMS_REFUSED.labels("503").inc()
        return JSONResponse({"error": "The figures cannot be made now. Try again shortly."}, status_code=503,
                            headers={"Cache-Control": "no-store", "Retry-After": "5"})
    if not answer.signed_in:
        STREAMS_REFUSED.labels(str(answer.status)).inc()
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers),
                        media_type="application/json")
    if answer.event_id == last_event_id:
        first = b": resumed; the figures are as they were\r\n\r\n"
    else:
        first = encode(answer.event_id, answer.event, hub.retry_ms)
    kept = {name: value for name, value in answer.headers if name.lower() not in _NOT_FOR_STREAMS}
    kept["Cache-Control"] = "no-store"
    return _EventStream(hub, joined, first, kept, request.app.state.open_streams)


async def healthz(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    return JSONResponse({"status": "ok", "process": os.getpid(), "streams": hub.streams, "figures_made": hub.figures_made,
                         "figures_asked": hub.figures_asked, "last_round_seconds": round(hub.last_round_seconds, 4)},
                        headers={"Cache-Control": "no-store"})


def stream_app(flask_app: Flask, *, rest=None) -> _StreamsFirst:
    """The stream process's ASGI app. rest: an ASGI app for every other path (development serves
    the Flask app there, so the page and its stream share an origin with no proxy)."""
    path = flask_app.config["STREAM_PATH"] or "/api/stream"

    @asynccontextmanager
    async def lifespan(app: Starlette):
        hub = Hub(flask_app, asyncio.get_running_loop())
        app.state.hub = hub
        app.state.open_streams = open_streams = set()
        heartbeats = asyncio.ensure_future(_heartbeats(open_streams, flask_app.config["STREAM_HEARTBEAT_SECONDS"]))
        forget_dead_processes()
        hub.start()
        try:
            yield
        finally:
            heartbeats.cancel()
            hub.stop()
            forget_dead_processes(os.getpid())

    routes = [Route(path, stream, methods=["GET"]), Route("/stream/healthz", healthz, methods=["GET"])]
    if rest is not None:
        routes.append(Mount("/", app=rest))
    return _StreamsFirst(Starlette(routes=routes, lifespan=lifespan), path)


class _StreamsFirst:
    """GET of the stream's path straight to stream(), everything else (the lifespan included)
    through Starlette. Its middleware wraps `send` in two more coroutines, which every event
    would pass through: a tenth of the process's CPU at 5,000 streams. Without it an error in
    stream() is still a 500: uvicorn's own."""

    def __init__(self, app: Starlette, path: str):
        self.app, self.path = app, path

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "GET":
            scope["app"] = self.app  # as Starlette sets it: request.app.state is the hub's
            response = await stream(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

