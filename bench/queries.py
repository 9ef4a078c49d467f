"""Counts the SQL statements and database round trips behind one GET / and one GET /api/balance.

Statements come from SQLAlchemy's before_cursor_execute event; round trips from libpq's own
protocol trace (one ReadyForQuery per round trip), which also sees what SQLAlchemy does not
report as a statement: the implicit BEGIN, the pool's pre-ping and the ROLLBACK on return.

Run alone: python -m bench.queries [--schema bench_1000]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

from sqlalchemy import event

from . import load
from . import schema as bench_schema
from .profile import signed_in_client, wait_for

PATHS = ("/api/balance", "/")


@dataclass
class Count:
    statements: list[str] = field(default_factory=list)
    round_trips: list[str] = field(default_factory=list)


def _protocol_trace(path: str) -> list[str]:
    """The frontend's messages, one entry per round trip, from a libpq trace file."""
    trips, pending = [], []
    with open(path) as trace:
        for line in trace:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            direction, message = parts[0], parts[2]
            if direction == "F" and message in ("Query", "Parse"):
                text = parts[3].strip() if len(parts) > 3 else ""
                pending.append(re.sub(r"\s+", " ", text.strip('"'))[:90])
            elif direction == "B" and message == "ReadyForQuery":
                trips.append(" + ".join(pending) or "(sync)")
                pending = []
    return trips


def count_queries(schema: str, email: str, password: str, *, cached: bool = False) -> dict[str, Count]:
    """Sign in through the test client as in production (CSRF on), then count one request per path:
    with the read cache off (what a request costs when it must read), or on and warm."""
    from psycopg.pq import Trace

    from dashboard import create_app
    from dashboard.extensions import db

    config = bench_schema.app_config(schema)
    if not cached:
        config["READ_CACHE_SECONDS"] = 0
    app = create_app(config)
    trace_dir = tempfile.mkdtemp(prefix="bench-trace-")
    traces: list[str] = []
    traced = []
    recording: list[Count] = []

    def start_trace(dbapi_connection, handle) -> None:
        dbapi_connection.pgconn.trace(handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)

    def flush_traces() -> None:
        # libpq buffers its trace; PQuntrace flushes it, and tracing resumes on the same file.
        for dbapi_connection, handle in traced:
            if not dbapi_connection.closed:
                dbapi_connection.pgconn.untrace()
                start_trace(dbapi_connection, handle)

    with app.app_context():
        engines = list(db.engines.values())  # the ORM's and the reads engine

    def trace_connection(dbapi_connection, _record):
        path = os.path.join(trace_dir, f"{len(traces)}.trace")
        handle = open(path, "w")  # noqa: SIM115 - kept open for the connection's life
        start_trace(dbapi_connection, handle)
        traces.append(path)
        traced.append((dbapi_connection, handle))

    def note_statement(_conn, _cursor, statement, _params, _context, _many):
        if recording:
            recording[-1].statements.append(re.sub(r"\s+", " ", statement)[:90])

    for engine in engines:
        event.listen(engine, "connect", trace_connection)
        event.listen(engine, "before_cursor_execute", note_statement)

    client = signed_in_client(app, email, password)
    for path in PATHS:  # warm: templates compiled, connection pooled
        client.get(path)
    if cached:
        feed = app.extensions["dashboard_change_feed"]
        wait_for(lambda: feed.listening, "the read cache's change feed to listen")
        for path in PATHS:  # read while listening: now in the cache
            client.get(path)

    counts = {}
    for path in PATHS:
        flush_traces()
        before = {p: len(_protocol_trace(p)) for p in traces}
        recording.append(Count())
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} answered {answer.status_code}")
        count = recording.pop()
        flush_traces()
        for p in traces:
            count.round_trips += _protocol_trace(p)[before.get(p, 0):]
        counts[path] = count
    with app.app_context():
        for engine in engines:
            engine.dispose()
    for _connection, handle in traced:
        handle.close()
    shutil.rmtree(trace_dir, ignore_errors=True)
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="bench_1000", help="a schema the bench has loaded (default bench_1000)")
    args = parser.parse_args(argv)
    accounts = load.loaded_accounts(args.schema)
    if not accounts:
        raise SystemExit(f"schema {args.schema} holds no finished bench load: run python -m bench first")
    email = load.bench_email(load.middle_account(accounts[0]))
    for cached in (False, True):
        print("read cache on, warm (nothing changed since the last request):" if cached else "read cache off (every request reads):")
        for path, count in count_queries(args.schema, email, load.BENCH_PASSWORD, cached=cached).items():
            print(f"  GET {path}: {len(count.statements)} SQL statements, {len(count.round_trips)} round trips")
            for trip in count.round_trips:
                print(f"      {trip}")


if __name__ == "__main__":
    main()
