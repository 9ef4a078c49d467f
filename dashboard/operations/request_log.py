"""Every request, however it is answered: one log line, two metric updates and an X-Request-ID.

A WSGI middleware outside everything else, because some answers never reach Flask (the cached
304 of an unchanged refresh, wallet/unchanged_refresh.py) and because the duration should
include the whole answer, body and all. Flask's routing tells it the route template through the
WSGI environment (ROUTE_KEY): the label is "/api/balance", never the path a client sent.

The request id is the one a trusted proxy sends (TRUSTED_PROXIES > 0 and a well-formed
X-Request-ID), else made here; it is returned in the X-Request-ID header and carried by every
log line written while the request is served.
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import time

from flask import Flask, request
from werkzeug.wsgi import ClosingIterator

from dashboard.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS, REQUEST_ID_KEY, ROUTE_KEY, UNMATCHED_ROUTE
from dashboard.operations.logs import CURRENT_REQUEST_ID

log = logging.getLogger("dashboard.requests")

HEADER = "X-Request-ID"
# What a proxy's id may look like: nginx's $request_id (32 hex digits), UUIDs, and the like.
# Anything else (too long, spaces, quotes, control characters) is replaced, never logged.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Label values for methods: a client may send any word as its method; the label takes these.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Ids:
    """Request ids made here: 16 random hex digits per process, then a counter (32 in all).
    Unique across processes without a system call per request, as uuid4 would make."""

    def __init__(self):
        self.reset()
        os.register_at_fork(after_in_child=self.reset)  # gunicorn's workers are forks

    def reset(self) -> None:
        self._prefix, self._count = os.urandom(8).hex(), itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._count):016x}"


_IDS = _Ids()


def request_id(environ, trust_proxy: bool) -> str:
    sent = environ.get("HTTP_X_REQUEST_ID") if trust_proxy else None
    if sent and WELL_FORMED.fullmatch(sent):
        return sent
    return _IDS.next()


class RequestLog:
    def __init__(self, app: Flask, wsgi_app):
        self._wsgi_app = wsgi_app
        self._trust_proxy = app.config["TRUSTED_PROXIES"] > 0
        # The labelled children, found once each: prometheus_client's labels() takes a lock.
        # Bounded: routes × methods × statuses the app answers.
        self._counters: dict = {}
        self._histograms: dict = {}

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        rid = environ[REQUEST_ID_KEY] = request_id(environ, self._trust_proxy)
        token = CURRENT_REQUEST_ID.set(rid)
        answered = []

        def start_with_id(status, headers, exc_info=None):
            answered[:] = [status]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        def finish():
            self._record(environ, answered[0][:3] if answered else "500", time.perf_counter() - started, rid)
            CURRENT_REQUEST_ID.reset(token)

        try:
            body = self._wsgi_app(environ, start_with_id)
        except BaseException:
            finish()
            raise
        return ClosingIterator(body, finish)

    def _record(self, environ, status: str, seconds: float, rid: str) -> None:
        route = environ.get(ROUTE_KEY) or UNMATCHED_ROUTE
        method = environ.get("REQUEST_METHOD", "")
        method = method if method in METHODS else "OTHER"
        counter = self._counters.get((route, method, status))
        if counter is None:
            counter = self._counters[route, method, status] = HTTP_REQUESTS.labels(route, method, status)
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = HTTP_REQUEST_DURATION.labels(route)
        histogram.observe(seconds)
        if log.isEnabledFor(logging.INFO):
            # makeRecord and handle: what log.info does, less the walk up the stack for the
            # caller's file and line, which a request line does not need.
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", None, None, extra={
                "request_id": rid, "method": method, "route": route, "status": int(status),
                "duration_seconds": round(seconds, 6)}))


def note_route() -> None:
    """Flask's first before-request hook: which route template matched, for the line and the labels."""
    rule = request.url_rule
    if rule is not None:
        request.environ[ROUTE_KEY] = rule.rule


def init_app(app: Flask) -> None:
    """Called last in the factory: the middleware goes outside every other one, and the hook
    ahead of every other hook (the unchanged refresh's answers before any other runs)."""
    app.before_request_funcs.setdefault(None, []).insert(0, note_route)
    app.wsgi_app = RequestLog(app, app.wsgi_app)
