"""The compensation run of the reference: 88.549 JPY per XEM held at 2018-01-26 23:59:59 JST,
planned from the journal, applied exactly once (again, after kill -9, and by two runs at once),
every refusal and bad input clear, and nothing half-written."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.ledger.journal import verify
from dashboard.models import Account, Balance, CompensationLine, CompensationPlan, JournalEntry

JST = timezone(timedelta(hours=9))
SNAPSHOT = "2018-01-26T23:59:59+09:00"
RATE = Decimal("88.549")
HEADER = "email,currency,available,in_use\n"
REPO = Path(__file__).resolve().parents[2]

# Balances as imported at four moments around the theft (as tests/ledger/test_journal.py), plus
# JPY some holders already had.
NEM_FILES = [
    ("2018-01-20T10:00:00+09:00", "alice@example.com,xem,1000000.5,0\nbob@example.com,xem,250000,50000\n"
                                  "carol@example.com,xem,300,0\nalice@example.com,jpy,1000,0\n"
                                  "frank@example.com,xem,0.000001,0\ngrace@example.com,xem,10000,0\n"),
    ("2018-01-26T12:07:00+09:00", "carol@example.com,xem,0,0\ndave@example.com,xem,12345.678901,0\n"),
    ("2018-01-26T23:59:59+09:00", "bob@example.com,xem,260000,40000\n"),  # at the very moment: counts
    ("2018-01-27T00:00:00+09:00", "erin@example.com,xem,777,0\nbob@example.com,xem,300000,40000\n"),
]
EMAILS = [f"{name}@example.com" for name in ("alice", "bob", "carol", "dave", "erin", "frank", "grace")]
# What each held at the snapshot, available + in use.
HELD = {"alice@example.com": Decimal("1000000.5"), "bob@example.com": Decimal("300000"),
        "dave@example.com": Decimal("12345.678901"), "frank@example.com": Decimal("0.000001"),
        "grace@example.com": Decimal("10000")}


def make_accounts(app, *emails) -> dict[str, int]:
    with app.app_context():
        accounts = [Account(email=email, password_hash="!") for email in emails]
        db.session.add_all(accounts)
        db.session.commit()
        return {account.email: account.id for account in accounts}


@pytest.fixture
def nem(app, runner, tmp_path):
    ids = make_accounts(app, *EMAILS)
    for number, (moment, lines) in enumerate(NEM_FILES):
        path = tmp_path / f"import{number}.csv"
        path.write_text(HEADER + lines)
        result = runner.invoke(args=["balances", "import", str(path), "--as-of", moment])
        assert result.exit_code == 0, result.output
    return ids


def plan(runner, tmp_path, *extra, name="plan.csv", rounding=None):
    out = tmp_path / name
    arguments = ["compensation", "plan", "--currency", "xem", "--rate", "88.549", "--snapshot", SNAPSHOT, "--out", str(out), *extra]
    if rounding:
        arguments += ["--rounding", rounding]
    result = runner.invoke(args=arguments)
    return result, out


def figures(app, email, currency) -> tuple[Decimal, Decimal]:
    with app.app_context():
        balance = db.session.execute(
            select(Balance).join(Account).where(Account.email == email, Balance.currency_code == currency)
        ).scalar_one_or_none()
        return (balance.available, balance.in_use) if balance else (Decimal(0), Decimal(0))


def journal_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(JournalEntry))


def brute_force_holdings(app, moment: datetime) -> dict[str, Decimal]:
    """Every XEM entry replayed in Python, sequence by sequence: what each account held then."""
    held: dict[str, Decimal] = {}
    with app.app_context():
        rows = db.session.execute(
            select(Account.email, JournalEntry).join(Account, Account.id == JournalEntry.account_id)
            .where(JournalEntry.currency_code == "xem").order_by(JournalEntry.account_id, JournalEntry.sequence)
        ).all()
        for email, entry in rows:
            if entry.effective_at <= moment:
                held[email] = entry.available_after + entry.in_use_after
    return {email: quantity for email, quantity in held.items() if quantity > 0}


# --- the plan ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rounding, rule", [(None, ROUND_DOWN), ("down", ROUND_DOWN), ("half-up", ROUND_HALF_UP)])
def test_the_plan_lists_every_holder_at_the_snapshot_and_its_totals_equal_the_journals(app, runner, tmp_path, nem, rounding, rule):
    result, out = plan(runner, tmp_path, rounding=rounding)
    assert result.exit_code == 0, result.output
    held = brute_force_holdings(app, datetime(2018, 1, 26, 23, 59, 59, tzinfo=JST))
    assert held == HELD  # carol had sold, erin bought only after midnight
    owed = {email: (quantity * RATE).quantize(Decimal(1), rounding=rule) for email, quantity in held.items()}
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# compensation plan ") and lines[1] == "email,quantity,jpy"
    assert lines[2:] == [f"{email},{held[email]:f},{owed[email]}" for email in sorted(held)]
    total_quantity, total_jpy = sum(held.values()), sum(owed.values())
    exact = sum(quantity * RATE for quantity in held.values())
    assert f"holders: {len(held)}\n" in result.output
    assert f"total quantity: {total_quantity:f} XEM\n" in result.output
    assert f"total JPY: {total_jpy}\n" in result.output
    assert f"total rounded away: {(exact - total_jpy).normalize():f} JPY\n" in result.output
    with app.app_context():
        record = db.session.execute(select(CompensationPlan)).scalar_one()
        assert record.digest == hashlib.sha256(out.read_bytes()).hexdigest()
        assert (record.currency_code, record.rate, record.rounding, record.holders) == ("xem", RATE, rounding or "down", 5)
        assert record.snapshot_at == datetime(2018, 1, 26, 14, 59, 59, tzinfo=UTC)
        assert (record.total_quantity, record.total_jpy) == (total_quantity, total_jpy)


def test_the_rounding_rule_decides_only_the_fraction_of_a_yen(app, runner, tmp_path, nem):
    down, _ = plan(runner, tmp_path, name="down.csv", rounding="down")
    up, _ = plan(runner, tmp_path, name="up.csv", rounding="half-up")
    # dave: 12345.678901 × 88.549 = 1093197.521004649: 1093197 down, 1093198 half-up; the other
    # products' fractions (.2745, 0, 0.000088549, 0) round down either way.
    down_lines = dict(line.split(",", 1) for line in (tmp_path / "down.csv").read_text().splitlines()[2:])
    up_lines = dict(line.split(",", 1) for line in (tmp_path / "up.csv").read_text().splitlines()[2:])
    assert down_lines.pop("dave@example.com") == "12345.678901,1093197"
    assert up_lines.pop("dave@example.com") == "12345.678901,1093198"
    assert down_lines == up_lines
    total_down = int(down.output.split("total JPY: ")[1].split()[0])
    assert f"total JPY: {total_down + 1}\n" in up.output
    assert "total rounded away: 0.795593198 JPY" in down.output      # .2745 + .521004649 + .000088549
    assert "total rounded away: -0.204406802 JPY" in up.output       # dave's rounded up by .478995351


def test_a_snapshot_without_offset_is_read_in_the_display_zone_and_says_so(app, runner, tmp_path, nem):
    out = tmp_path / "naive.csv"
    result = runner.invoke(args=["compensation", "plan", "--currency", "XEM", "--rate", "88.549", "--snapshot", "2018-01-26T23:59:59",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no UTC offset; read as Asia/Tokyo time (2018-01-26T23:59:59+09:00)" in result.stderr
    assert "holders: 5\n" in result.output


@pytest.mark.parametrize("arguments, message", [
    (["--currency", "doge"], "unknown currency 'doge'"),
    (["--currency", "jpy"], "compensation is paid in JPY"),
    (["--rate", "0"], "greater than 0"),
    (["--rate", "-88.549"], "greater than 0"),
    (["--rate", "abc"], "not a decimal number"),
    (["--rate", "NaN"], "not a decimal number"),
    (["--rate", ""], "not a decimal number"),
    (["--snapshot", "yesterday"], "not an ISO 8601 timestamp"),
    (["--snapshot", "2999-01-01T00:00:00+09:00"], "is in the future"),
    (["--snapshot", "2018-01-01T00:00:00+09:00"], "no account held XEM"),
    (["--rounding", "up"], "'up' is not one of 'down', 'half-up'"),
])
def test_bad_plan_arguments_are_refused_and_nothing_is_recorded_or_written(app, runner, tmp_path, nem, arguments, message):
    options = {"--currency": "xem", "--rate": "88.549", "--snapshot": SNAPSHOT}
    for name, value in zip(arguments[::2], arguments[1::2], strict=True):
        options[name] = value
    out = tmp_path / "bad.csv"
    result = runner.invoke(args=["compensation", "plan", *[part for pair in options.items() for part in pair], "--out", str(out)])
    assert result.exit_code != 0 and message in result.output, result.output
    assert not out.exists() and list(tmp_path.glob(".bad.csv*")) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CompensationPlan)) == 0


def test_a_plan_never_overwrites_a_file(app, runner, tmp_path, nem):
    out = tmp_path / "plan.csv"
    out.write_text("reviewed by legal\n")
    result, _ = plan(runner, tmp_path)
    assert result.exit_code != 0 and "already exists" in result.output
    assert out.read_text() == "reviewed by legal\n"


# --- applying it ------------------------------------------------------------------------------

def test_apply_credits_each_holder_exactly_once_and_the_journal_says_why(app, runner, tmp_path, nem):
    _, out = plan(runner, tmp_path)
    before = {email: (figures(app, email, "jpy"), figures(app, email, "xem")) for email in EMAILS}
    result = runner.invoke(args=["compensation", "apply", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 applied now, 0 already applied, 0 refused" in result.output
    for email in EMAILS:
        (jpy_before, _), (xem_available, xem_in_use) = before[email]
        owed = (HELD.get(email, Decimal(0)) * RATE).quantize(Decimal(1), rounding=ROUND_DOWN)
        assert figures(app, email, "jpy") == (jpy_before + owed, Decimal(0)), email
        taken = HELD.get(email, Decimal(0))
        from_available = min(xem_available, taken)
        assert figures(app, email, "xem") == (xem_available - from_available, xem_in_use - (taken - from_available)), email
    # bob held 260000 + 40000 in use then, 300000 + 40000 now: the 300000 come from available first.
    assert figures(app, "bob@example.com", "xem") == (Decimal(0), Decimal(40000))
    with app.app_context():
        assert verify()[2] == []
        entries = db.session.execute(select(JournalEntry).where(JournalEntry.reason_code == "compensation")).scalars().all()
        # frank's 0.000001 XEM is worth 0 yen: his XEM is taken, no JPY entry.
        assert len(entries) == 2 * 5 - 1
        alice = next(entry for entry in entries if entry.currency_code == "jpy" and entry.available_after == Decimal(1000 + 88549044))
        assert alice.reason_params == {"currency": "xem", "name": "NEM", "rate": "88.549", "quantity": "1000000.5"}
        assert alice.idempotency_key.startswith("compensation:") and "sha256:" in alice.source
    again = runner.invoke(args=["compensation", "apply", str(out)])
    assert again.exit_code == 0 and "already applied: all 5 line(s)" in again.output
    assert journal_count(app) == len(NEM_FILES[0][1].splitlines()) + 2 + 1 + 2 + 9
    status = runner.invoke(args=["compensation", "status", str(out)])
    assert status.exit_code == 0
    assert f"applied: 5 line(s), {sum(HELD.values()):f} XEM, {sum((q * RATE).quantize(Decimal(1), rounding=ROUND_DOWN) for q in HELD.values())} JPY\n" in status.output
    assert "pending: 0 line(s), 0 XEM, 0 JPY\n" in status.output and "refused: 0 line(s)" in status.output
    assert runner.invoke(args=["balances", "verify"]).exit_code == 0


def test_an_operators_reason_is_recorded_as_written_on_every_entry(app, runner, tmp_path, nem):
    _, out = plan(runner, tmp_path)
    result = runner.invoke(args=["compensation", "apply", str(out), "--reason", " NEM 補償 (2018-03-12), \"batch\" {1} "])
    assert result.exit_code == 0, result.output
    with app.app_context():
        written = db.session.execute(select(JournalEntry.reason, JournalEntry.reason_code, JournalEntry.reason_params)
                                     .where(JournalEntry.idempotency_key.startswith("compensation:"))).all()
        assert len(written) == 2 * 5 - 1
        assert set(written) == {('NEM 補償 (2018-03-12), "batch" {1}', None, None)}
        assert verify()[2] == []


def test_an_account_holding_less_than_planned_is_refused_untouched_and_the_rest_go_on(app, runner, tmp_path, nem):
    _, out = plan(runner, tmp_path)
    # dave sold 2 XEM after the snapshot, before the run.
    assert runner.invoke(args=["balances", "adjust", "dave@example.com", "xem", "--available", "-2"]).exit_code == 0
    dave = figures(app, "dave@example.com", "xem"), figures(app, "dave@example.com", "jpy")
    result = runner.invoke(args=["compensation", "apply", str(out)])
    assert result.exit_code == 1
    assert "4 applied now, 0 already applied, 1 refused" in result.output
    assert "refused dave@example.com: 12345.678901 XEM / 1093197 JPY: holds 12343.678901 XEM now, fewer than the 12345.678901 planned" in result.stderr
    assert (figures(app, "dave@example.com", "xem"), figures(app, "dave@example.com", "jpy")) == dave
    status = runner.invoke(args=["compensation", "status", str(out)]).output
    assert "applied: 4 line(s)" in status and "refused: 1 line(s), 12345.678901 XEM, 1093197 JPY" in status
    assert "pending: 0 line(s)" in status
    # Put right, the same plan applies dave now, and only dave.
    assert runner.invoke(args=["balances", "adjust", "dave@example.com", "xem", "--available", "+2"]).exit_code == 0
    again = runner.invoke(args=["compensation", "apply", str(out)])
    assert again.exit_code == 0 and "1 applied now, 4 already applied, 0 refused" in again.output
    assert figures(app, "dave@example.com", "jpy") == (Decimal(1093197), Decimal(0))
    with app.app_context():
        assert verify()[2] == []


def test_an_edited_plan_is_refused_and_changes_nothing(app, runner, tmp_path, nem):
    _, out = plan(runner, tmp_path)
    original = out.read_bytes()
    entries = journal_count(app)
    for edited in (original.replace(b"alice@example.com,1000000.5,88549044", b"alice@example.com,1000000.5,98549044"),
                   original + b"mallory@example.com,1,88\n", original.replace(b"\n", b"\r\n"), original[:-1]):
        out.write_bytes(edited)
        for command in ("apply", "status"):
            result = runner.invoke(args=["compensation", command, str(out)])
            assert result.exit_code != 0 and "it was edited; make a new plan instead" in result.output, result.output
    assert journal_count(app) == entries


@pytest.mark.parametrize("content, message", [
    (b"", "not a compensation plan"),
    (b"email,quantity,jpy\nalice@example.com,1,88\n", "not a compensation plan"),
    (b"\xff\xfe# compensation plan", "not a compensation plan"),
    (b"# compensation plan 00000000-0000-4000-8000-000000000000: xem\nemail,quantity,jpy\n", "was not made on this database"),
])
def test_a_file_that_is_no_plan_of_this_database_is_refused(app, runner, tmp_path, nem, content, message):
    path = tmp_path / "other.csv"
    path.write_bytes(content)
    result = runner.invoke(args=["compensation", "apply", str(path)])
    assert result.exit_code != 0 and message in result.output
    assert runner.invoke(args=["compensation", "apply", str(tmp_path / "missing.csv")]).exit_code != 0


def test_a_plan_made_on_another_database_is_refused_there(app, runner, tmp_path, nem, database_urls, backend):
    from conftest import empty_tables, make_app

    _, out = plan(runner, tmp_path)
    # The same customers on a second database: a staging copy, say, without this plan.
    other = make_app(database_urls("sqlite" if backend == "postgresql" else "postgresql"))
    empty_tables(other)
    make_accounts(other, *EMAILS)
    result = other.test_cli_runner().invoke(args=["compensation", "apply", str(out)])
    assert result.exit_code != 0 and "was not made on this database" in result.output
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 0
        db.session.remove()
    empty_tables(other)


# --- crashes and concurrency --------------------------------------------------------------------

def flask_env(app) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "DASHBOARD_ENV": "development", "PYTHONPATH": str(REPO)})
    env.pop("DASHBOARD_TEST_KILL_AFTER_BATCHES", None)
    return env


def run_apply(app, out, *extra, env_extra=None) -> subprocess.CompletedProcess:
    env = flask_env(app) | (env_extra or {})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "dashboard", "compensation", "apply", str(out), *extra],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_run_killed_after_a_batch_finishes_the_rest_exactly_once(app, runner, tmp_path, nem):
    _, out = plan(runner, tmp_path)
    killed = run_apply(app, out, "--batch-size", "2", env_extra={"DASHBOARD_TEST_KILL_AFTER_BATCHES": "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    status = runner.invoke(args=["compensation", "status", str(out)]).output
    assert "applied: 2 line(s)" in status and "pending: 3 line(s)" in status
    with app.app_context():
        assert verify()[2] == []
    resumed = run_apply(app, out, "--batch-size", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "3 applied now, 2 already applied, 0 refused" in resumed.stdout
    for email, quantity in HELD.items():
        jpy_before = Decimal(1000) if email == "alice@example.com" else Decimal(0)
        assert figures(app, email, "jpy")[0] == jpy_before + (quantity * RATE).quantize(Decimal(1), rounding=ROUND_DOWN)
    with app.app_context():
        assert verify()[2] == []
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.reason_code == "compensation")) == 9


def test_two_concurrent_runs_credit_each_account_once(app, runner, tmp_path, nem):
    _, out = plan(runner, tmp_path)
    results = [None, None]
    barrier = threading.Barrier(2)

    def run(n):
        barrier.wait(10)
        results[n] = run_apply(app, out, "--batch-size", "1")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(150)
    assert all(result is not None and result.returncode == 0 for result in results), results
    applied = [int(result.stdout.split("applied now")[0].split()[-1]) for result in results if "applied now" in result.stdout]
    assert sum(applied) == 5  # between them, each line once (a run that found all done says "already applied")
    with app.app_context():
        assert verify()[2] == []
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.reason_code == "compensation")) == 9
        assert db.session.scalar(select(func.count()).select_from(CompensationLine).where(CompensationLine.status == "applied")) == 5
    assert figures(app, "alice@example.com", "jpy") == (Decimal(1000 + 88549044), Decimal(0))
