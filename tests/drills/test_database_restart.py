"""Drill: the database restarted under load. During the outage every request gets 503 with
Retry-After (never a 500, never a hang); within 5 seconds of the database's return every request
succeeds; the change feed comes back, and the read cache serves nothing it cannot vouch for: a
balance changed in SQL while no feed could listen shows on the next refresh."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from .conftest import WORKER_TIMEOUT, Browser, Load, report

RECOVERY_SECONDS = 5  # the drill's promise: every request after this long succeeds
OUTAGE_SECONDS = 3


def jpy_available(answer) -> Decimal:
    row = next(row for row in answer.json()["balances"] if row["currency"] == "jpy")
    return Decimal(row["available"])


def add_jpy(stage, amount: str) -> None:
    stage.sql("UPDATE balances SET available = available + %s FROM accounts WHERE accounts.id = balances.account_id "
              "AND accounts.email = 'demo@example.com' AND balances.currency_code = 'jpy'", (Decimal(amount),))


@pytest.fixture
def restored_balance(stage):
    """The demo's JPY as it was, once the drill is over: changed in SQL, the balance no longer
    matches its journal, and `balances verify` (the compensation drill's) would say so."""
    before = stage.sql("SELECT b.available FROM balances b JOIN accounts a ON a.id = b.account_id "
                       "WHERE a.email = 'demo@example.com' AND b.currency_code = 'jpy'")[0][0]
    yield
    stage.sql("UPDATE balances SET available = %s FROM accounts WHERE accounts.id = balances.account_id "
              "AND accounts.email = 'demo@example.com' AND balances.currency_code = 'jpy'", (before,))


def test_database_restart(stage, restored_balance):
    browsers = [Browser(stage.server.base) for _ in range(3)]
    start_jpy = jpy_available(browsers[0].get("/api/balance"))
    workers = stage.server.worker_pids()
    reconnects = stage.server.metric("dashboard_change_feed_reconnects_total")
    paths = (*Load.PATHS, "POST /api/preferences")  # writes too: some meet the restart mid-transaction
    with Load(browsers, paths=paths) as load:
        time.sleep(1)  # steady state: the read cache is warm
        stopping = time.monotonic()
        stage.cluster.stop("fast")
        down = time.monotonic()
        # A balance changed while no worker's change feed can listen: its notification goes
        # unheard. (The database comes up on its Unix socket alone for it, then again for all.)
        stage.cluster.start(tcp=False)
        add_jpy(stage, "1")
        stage.cluster.stop("fast")
        time.sleep(max(0, down + OUTAGE_SECONDS - time.monotonic()))
        stage.cluster.start()
        up = changed = time.monotonic()
        # Every worker's feed listens again (each counts its reconnection).
        while stage.server.metric("dashboard_change_feed_reconnects_total") < reconnects + len(workers):
            assert time.monotonic() - up < 30, "the change feeds did not reconnect"
            time.sleep(0.1)
        feeds_back = time.monotonic()
        time.sleep(max(0, up + RECOVERY_SECONDS + 1 - time.monotonic()))
    samples = load.snapshot()

    unanswered = [sample for sample in samples if sample.answer.status == 0]
    server_errors = [sample for sample in samples if sample.answer.status >= 500]
    refused = [sample for sample in samples if sample.answer.status == 503]
    late = [sample for sample in samples if sample.started >= up + RECOVERY_SECONDS]
    failed_since = [sample.started for sample in samples if sample.answer.status != 200 and sample.started >= up]
    recovered_after = (max(failed_since) - up) if failed_since else 0.0
    report("database restart", {
        "outage": f"{up - stopping:.1f} s (stop took {down - stopping:.1f} s)",
        "requests": len(samples), "503": len(refused),
        "other 5xx": len(server_errors) - len(refused), "unanswered": len(unanswered),
        "slowest": f"{max(sample.seconds for sample in samples):.2f} s",
        "last failure after the database's return": f"{recovered_after:.2f} s",
        "change feeds back after": f"{feeds_back - up:.1f} s",
    })

    assert refused, "no request met the outage: the drill did not happen"
    assert not unanswered, [(sample.path, sample.answer.error) for sample in unanswered[:5]]
    assert all(sample.answer.status == 503 for sample in server_errors), \
        sorted({(sample.path, sample.answer.status) for sample in server_errors})
    assert all(sample.answer.headers.get("retry-after", "").isdigit() for sample in refused)
    assert all(sample.seconds < WORKER_TIMEOUT for sample in samples)
    assert late and all(sample.answer.status == 200 for sample in late), \
        sorted({(sample.path, sample.answer.status) for sample in late if sample.answer.status != 200})

    # Nothing cached from before the change is served: every answer begun after it shows it.
    balances_after = [sample for sample in samples
                      if sample.path == "/api/balance" and sample.started > changed and sample.answer.status == 200]
    assert balances_after
    assert {jpy_available(sample.answer) for sample in balances_after} == {start_jpy + 1}

    # The feeds are back: a change made now reaches every worker's cache through them, as soon
    # as its notification arrives (a moment after the commit: polled, not asked once).
    add_jpy(stage, "2")
    committed = time.monotonic()
    for browser in browsers:
        while jpy_available(browser.get("/api/balance")) != start_jpy + 3:
            assert time.monotonic() - committed < 5, "a change after the restart did not reach the cache"
            time.sleep(0.05)
    report("database restart, after", {"a change in SQL shown by every client after": f"{time.monotonic() - committed:.2f} s"})
    assert stage.server.worker_pids() == workers  # no worker was lost to the outage
    ready = [browsers[0].get("/readyz") for _ in range(6)]
    assert all(answer.status == 200 for answer in ready), [answer.body for answer in ready]
