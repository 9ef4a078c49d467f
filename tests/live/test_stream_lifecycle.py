"""The stream's own life on the event loop: a browser that goes is forgotten at once (not at the
next heartbeat: this module keeps the default of 15 s), and only a GET of its path skips
Starlette's middleware."""
from __future__ import annotations

import http.client
import json
import time

from conftest import sign_in

from tests.live.conftest import cookie_of
from tests.live.test_stream import next_figures


def _streams_open(stream_server) -> int:
    connection = http.client.HTTPConnection(*stream_server, timeout=5)
    try:
        connection.request("GET", "/stream/healthz")
        answer = connection.getresponse()
        assert answer.status == 200
        return json.loads(answer.read())["streams"]
    finally:
        connection.close()


def test_a_browser_that_goes_is_forgotten(app, client, demo, open_stream, stream_server):
    """Its disconnect wakes the waiting response, which ends and leaves the hub."""
    sign_in(client)
    reader = open_stream({"Cookie": cookie_of(client, app)})
    next_figures(reader)
    assert _streams_open(stream_server) == 1
    reader.close()
    deadline = time.monotonic() + 5
    while _streams_open(stream_server) != 0:
        assert time.monotonic() < deadline, "the closed stream is still counted"
        time.sleep(0.05)


def test_only_a_get_of_the_stream_path_bypasses_starlette(stream_server):
    connection = http.client.HTTPConnection(*stream_server, timeout=5)
    try:
        connection.request("POST", "/api/stream", body=b"")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 405 and "GET" in answer.headers["Allow"]
        connection.request("GET", "/api/stream/")
        answer = connection.getresponse()
        answer.read()
        assert answer.status in (307, 404)  # Starlette's router: not the stream
    finally:
        connection.close()


def test_a_stream_whose_answer_was_remembered_is_still_asked_again_by_time(app):
    """A remembered answer reads no session row, so it cannot say when the session ends: the
    stream is asked again once "last seen" would be due (it was never asked by time before)."""
    from datetime import timedelta

    from dashboard.live.figures import _check_at
    from dashboard.read_path import signed_in

    before = signed_in.now()
    at = _check_at(None, app.config)
    assert before < at <= signed_in.now() + signed_in.touch_interval(app.config) + timedelta(seconds=1)
