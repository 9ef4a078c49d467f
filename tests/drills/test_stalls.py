"""Drills: a request stalled by a lock held in SQL. With a slow database the statement is
cancelled after DATABASE_STATEMENT_TIMEOUT_MS and the request answers 503 with Retry-After, its
worker free again and nothing written; with its worker killed (SIGKILL) mid-request only that
request fails, the others are served and gunicorn replaces the worker. Both under load."""
from __future__ import annotations

import os
import signal
import threading
import time

from .conftest import (
    STATEMENT_TIMEOUT_MS,
    WORKER_TIMEOUT,
    Browser,
    Load,
    account_row_locked,
    report,
    waiting_backends,
)


def settings(stage) -> tuple:
    return tuple(stage.sql("SELECT show_net_assets_in_header, discreet FROM accounts WHERE email = 'demo@example.com'")[0])


def change_of(before: tuple) -> dict:
    """The stalled request's change: two preferences, both or neither of which may ever be written."""
    return {"show_in_header": not before[0], "discreet": not before[1]}


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.02)


def test_slow_database_answers_503_within_the_statement_timeout(stage):
    before = settings(stage)
    browsers = [Browser(stage.server.base) for _ in range(2)]
    writer = Browser(stage.server.base)
    workers_before = stage.server.worker_pids()
    with Load(browsers) as load, account_row_locked(stage):
        stalled = {}

        def post():
            stalled["started"] = time.monotonic()
            stalled["answer"] = writer.post_json("/api/preferences", change_of(before))
            stalled["ended"] = time.monotonic()

        thread = threading.Thread(target=post)
        thread.start()
        # Which worker holds it: the one whose database connection waits for the lock.
        _backend, port = wait_for(lambda: next(iter(waiting_backends(stage)), None), 10, "the request to wait for the lock")
        stalled_worker = stage.server.worker_with_port(port)
        thread.join(WORKER_TIMEOUT + 5)
        # Still locked: the worker is free again, its database session no longer waits.
        assert waiting_backends(stage) == []
        time.sleep(0.5)
    samples = load.snapshot()
    answer, took = stalled["answer"], stalled["ended"] - stalled["started"]
    during = [sample for sample in samples if stalled["started"] <= sample.started <= stalled["ended"]]
    report("slow database", {
        "statement timeout": f"{STATEMENT_TIMEOUT_MS} ms", "stalled request answered": f"{answer.status} after {took:.2f} s",
        "Retry-After": answer.headers.get("retry-after"), "other requests meanwhile": len(during),
        "of them failed": sum(sample.answer.status != 200 for sample in during),
    })
    assert answer.status == 503, answer
    assert answer.headers.get("retry-after", "").isdigit()
    assert answer.json()["success"] is False
    # Cancelled by the database at its timeout, not by gunicorn's (which kills the worker).
    assert STATEMENT_TIMEOUT_MS / 1000 <= took < STATEMENT_TIMEOUT_MS / 1000 + 3
    assert stalled_worker in workers_before and stage.server.worker_pids() == workers_before
    assert during and all(sample.answer.status == 200 for sample in samples)
    # Nothing half-written, then or once the lock is gone; and the same change goes through now.
    assert settings(stage) == before
    assert writer.post_json("/api/preferences", change_of(before)).status == 200
    assert settings(stage) == tuple(not value for value in before)
    assert writer.post_json("/api/preferences", change_of(settings(stage))).status == 200
    logged = [record for record in stage.server.log_records() if "statement" in record.get("message", "")]
    assert logged and logged[0]["level"] == "warning", logged


def test_a_worker_killed_mid_request(stage):
    before = settings(stage)
    browsers = [Browser(stage.server.base) for _ in range(2)]
    writer = Browser(stage.server.base)
    workers_before = stage.server.worker_pids()
    with Load(browsers) as load:
        with account_row_locked(stage):
            stalled = {}
            thread = threading.Thread(target=lambda: stalled.update(answer=writer.post_json("/api/preferences", change_of(before))))
            thread.start()
            _backend, port = wait_for(lambda: next(iter(waiting_backends(stage)), None), 10, "the request to wait for the lock")
            victim = wait_for(lambda: stage.server.worker_with_port(port), 5, "the worker holding the request")
            killed = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            thread.join(WORKER_TIMEOUT + 5)
            # The lock is held on: the dead worker's statement waits on in the database, uncommitted.
            replaced = wait_for(lambda: (stage.server.worker_pids() - workers_before) or None, 30, "a new worker")
            replaced_after = time.monotonic() - killed
        new_worker = next(iter(replaced))
        # The new worker serves: its own metrics file counts requests.
        wait_for(lambda: stage.server.served_by(new_worker) > 0, 90, "the new worker to serve a request")
        served_after = time.monotonic() - killed
        ended = time.monotonic()
    samples = load.snapshot()
    during = [sample for sample in samples if killed - 1 <= sample.started <= ended]
    report("worker killed", {
        "killed request": stalled["answer"].error or stalled["answer"].status,
        "new worker after": f"{replaced_after:.2f} s", "serving after": f"{served_after:.2f} s",
        "other requests meanwhile": len(during), "of them failed": sum(sample.answer.status != 200 for sample in during),
    })
    assert stalled["answer"].status == 0, stalled["answer"]  # only that request: no answer at all
    assert victim not in stage.server.worker_pids() and len(stage.server.worker_pids()) == len(workers_before)
    assert during and all(sample.answer.status == 200 for sample in samples), \
        sorted({(sample.path, sample.answer.status, sample.answer.error) for sample in samples if sample.answer.status != 200})
    # The dead request's transaction never committed: its session ends, nothing of it is written.
    wait_for(lambda: waiting_backends(stage) == [], STATEMENT_TIMEOUT_MS / 1000 + 10, "the dead request's statement to end")
    assert settings(stage) == before
