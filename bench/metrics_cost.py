"""What the request log and the metrics cost a hot request, measured in one process.

    python -m bench.metrics_cost [--requests 3000] [--rounds 5]

Serves the signed-in demo's `GET /api/balance` (the read cache answering: the hottest path) and
`GET /` through Flask's test client, alternately with the request log middleware
(operations/request_log.py: a request id, a JSON line written to /dev/null, a counter increment
and a histogram observation in prometheus_client's multiprocess mode, as under gunicorn) and
without it (the same app's inner WSGI callable, the route hook removed). Prints requests per
second and CPU microseconds per request (small batches alternated, so both sides share the
machine's load), the ratio on/off taken in the same run, and the middleware's own cost around a
do-nothing WSGI app.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

# As under gunicorn (gunicorn.conf.py): values in memory-mapped files, set before the import.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
os.environ.setdefault("DASHBOARD_ENV", "development")


def build_app(directory: str):
    from flask_migrate import upgrade

    from dashboard import create_app
    from dashboard.ledger.demo import seed_demo
    from dashboard.operations.logs import JsonFormatter, RequestIdFilter
    from dashboard.operations.request_log import RequestLog, note_route

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/bench.sqlite3", "LOG_FORMAT": "json",
                      # The bench signs in with a plain POST; CSRF is not what it measures.
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        seed_demo()
    # The production handler, writing to /dev/null instead of stderr.
    logger = logging.getLogger("dashboard")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 (kept for the process)
    sink.setFormatter(JsonFormatter())
    sink.addFilter(RequestIdFilter())
    logger.addHandler(sink)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    with_log = app.wsgi_app
    assert isinstance(with_log, RequestLog)
    without_log = with_log._wsgi_app  # noqa: SLF001 (the bench compares the two on purpose)
    hooks = app.before_request_funcs[None]

    def switch(on: bool) -> None:
        app.wsgi_app = with_log if on else without_log
        if on and note_route not in hooks:
            hooks.insert(0, note_route)
        elif not on and note_route in hooks:
            hooks.remove(note_route)

    return app, switch


def measure(client, path: str, requests: int) -> tuple[float, float]:
    """(requests per second, CPU microseconds per request)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        response = client.get(path, buffered=True)
        assert response.status_code == 200, response.status_code
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return requests / wall, cpu / requests * 1e6


def middleware_alone(app, calls: int = 20000) -> tuple[float, float]:
    """CPU microseconds per call of a do-nothing WSGI app, bare and inside RequestLog: what the
    log line, the request id and the two metric updates add, free of the app's own noise."""
    from dashboard.metrics import ROUTE_KEY
    from dashboard.operations.request_log import RequestLog

    def bare(environ, start_response):
        environ[ROUTE_KEY] = "/api/balance"
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    wrapped = RequestLog(app, bare)
    results = []
    for wsgi in (bare, wrapped):
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for _ in range(calls):
                body = wsgi({"REQUEST_METHOD": "GET", "PATH_INFO": "/api/balance"}, lambda status, headers, exc_info=None: None)
                getattr(body, "close", lambda: None)()
            best = min(best, (time.process_time() - started) / calls * 1e6)
        results.append(best)
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-metrics-cost-") as directory:
        app, switch = build_app(directory)
        client = app.test_client()
        response = client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
        assert response.status_code == 302
        bare, wrapped = middleware_alone(app)
        print(f"request log + metrics alone: {wrapped - bare:.1f} µs CPU per request "
              f"(a do-nothing WSGI app: {bare:.1f} µs bare, {wrapped:.1f} µs wrapped)")
        print(f"{'path':<14}{'metrics+log':>14}{'off':>14}{'ratio':>8}{'µs CPU on':>12}{'µs CPU off':>12}")
        for path in ("/api/balance", "/"):
            for on in (True, False):  # warm both up (memos, the read cache)
                switch(on)
                measure(client, path, 200)
            # Small batches, alternated, so both sides see the same load on a shared machine.
            totals = {True: [0.0, 0.0], False: [0.0, 0.0]}
            batch = 100
            for _ in range(args.rounds * args.requests // batch):
                for on in (True, False):
                    switch(on)
                    rate, cpu = measure(client, path, batch)
                    totals[on][0] += batch / rate
                    totals[on][1] += cpu * batch
            switch(True)
            count = args.rounds * args.requests // batch * batch
            on_rate, off_rate = count / totals[True][0], count / totals[False][0]
            on_cpu, off_cpu = totals[True][1] / count, totals[False][1] / count
            print(f"{path:<14}{on_rate:>12,.0f}/s{off_rate:>12,.0f}/s{on_rate / off_rate:>7.1%}{on_cpu:>12.1f}{off_cpu:>12.1f}")


if __name__ == "__main__":
    main()
