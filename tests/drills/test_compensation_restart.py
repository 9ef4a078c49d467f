"""Drill: a compensation run killed (SIGKILL) mid-run, a second one cut off by a database crash, a
third tried while the database is down, and a fourth after it is back: every holder is credited
exactly once, nobody is skipped, and `balances verify` is clean. The site is asked for the wallet
throughout."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from decimal import Decimal

from .conftest import REPO, Browser, Load, report

HOLDERS = 200
SNAPSHOT = "2026-01-02T00:00:00+09:00"


def applied(stage) -> int:
    return stage.sql("SELECT count(*) FROM compensation_lines WHERE status = 'applied'")[0][0]


def start_apply(stage, plan) -> subprocess.Popen:
    # One account per transaction: hundreds of commits, so a kill or a crash lands mid-run.
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "dashboard", "compensation", "apply", str(plan),
                             "--batch-size", "1"], cwd=REPO, env=stage.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_until_applied(stage, process, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while (count := applied(stage)) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{count} applied after a minute"
        time.sleep(0.01)
    return count


def test_compensation_killed_and_resumed_across_a_database_restart(stage, tmp_path):
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("email,currency,available,in_use\n" + "".join(
        f"holder{number}@example.com,xem,{1000 + number}.{number:06d},0\n" for number in range(HOLDERS)))
    make_accounts(stage, [f"holder{number}@example.com" for number in range(HOLDERS)])
    imported = stage.flask("balances", "import", str(holdings), "--as-of", "2026-01-01T00:00:00+09:00")
    assert imported.exit_code == 0, imported.output
    plan = tmp_path / "plan.csv"
    planned = stage.flask("compensation", "plan", "--currency", "xem", "--rate", "88.549", "--snapshot", SNAPSHOT,
                          "--out", str(plan))
    assert planned.exit_code == 0, planned.output
    lines = [line.split(",") for line in plan.read_text().splitlines() if line and not line.startswith("#")][1:]
    owed = {email: Decimal(jpy) for email, _quantity, jpy in lines}
    assert len(owed) == HOLDERS

    browsers = [Browser(stage.server.base) for _ in range(2)]
    with Load(browsers, paths=("/api/balance", "/")) as load:
        first = start_apply(stage, plan)
        wait_until_applied(stage, first, 20)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        after_kill = applied(stage)

        second = start_apply(stage, plan)
        before_crash = wait_until_applied(stage, second, after_kill + 20)
        crashed = time.monotonic()
        stage.cluster.stop("immediate")  # the server dies mid-transaction, as in a crash
        second_out, second_err = second.communicate(timeout=60)
        during = stage.flask("compensation", "apply", str(plan), "--batch-size", "1")
        stage.cluster.start()
        back = time.monotonic()
        fourth = stage.flask("compensation", "apply", str(plan), "--batch-size", "50")
        again = stage.flask("compensation", "apply", str(plan))
        status = stage.flask("compensation", "status", str(plan))
        verified = stage.flask("balances", "verify")
        # The site as soon as the database is back (the restart drill holds it to 5 s; a crash's
        # recovery is over when pg_ctl start returns): each client asked at least once more.
        while {sample.path for sample in load.snapshot() if sample.started >= back + 1} != {"/api/balance", "/"}:
            assert time.monotonic() - back < 60, "the clients asked nothing after the restart"
            time.sleep(0.1)
    samples = [sample for sample in load.snapshot() if sample.started >= back + 1]
    report("compensation across a restart", {
        "holders": HOLDERS, "applied before the kill": after_kill,
        "applied when the database crashed": f"{before_crash} or a few more",
        "database down": f"{back - crashed:.1f} s", "last run": fourth.stdout.strip(),
    })

    assert first.returncode == -signal.SIGKILL
    assert 0 < after_kill < HOLDERS
    assert second.returncode == 1 and "the database is unreachable" in second_err, second_err
    assert during.exit_code == 1 and "the database is unreachable" in during.output, during.output
    assert "Traceback" not in second_err
    assert fourth.exit_code == 0, fourth.output
    assert again.exit_code == 0 and f"already applied: all {HOLDERS} line(s)" in again.output, again.output
    assert f"applied: {HOLDERS} line(s)" in status.output and "pending: 0 line(s)" in status.output, status.output
    assert verified.exit_code == 0, verified.output
    # Each holder credited exactly what the plan owes, once, and the XEM taken once.
    rows = stage.sql("""
        SELECT a.email, jpy.available, xem.available,
               (SELECT count(*) FROM journal_entries j WHERE j.account_id = a.id AND j.reason_code = 'compensation')
        FROM accounts a JOIN balances jpy ON jpy.account_id = a.id AND jpy.currency_code = 'jpy'
        JOIN balances xem ON xem.account_id = a.id AND xem.currency_code = 'xem'
        WHERE a.email LIKE 'holder%%'""")
    assert {email: jpy for email, jpy, _xem, _entries in rows} == owed
    assert {(xem, entries) for _email, _jpy, xem, entries in rows} == {(Decimal(0), 2)}
    assert samples and all(sample.answer.status == 200 for sample in samples)


def make_accounts(stage, emails: list[str]) -> None:
    from dashboard.extensions import db
    from dashboard.models import Account

    with stage.flask.app.app_context():
        db.session.add_all(Account(email=email, password_hash="!") for email in emails)
        db.session.commit()
