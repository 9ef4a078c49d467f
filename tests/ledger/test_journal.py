"""The journal: one append-only entry per balance change in the same transaction, an unbroken
chain per balance, holdings rebuilt as of a past moment (the NEM incident of 2018-01-26), and
concurrent writers on PostgreSQL that neither lose an update nor break a chain."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from dashboard.extensions import db
from dashboard.ledger.balance_files import import_balances
from dashboard.ledger.changes import BalanceChange, LedgerError, adjust, apply_changes, in_transaction
from dashboard.ledger.demo import DEMO_BALANCES
from dashboard.ledger.journal import verify
from dashboard.models import Account, Balance, JournalEntry

JST = timezone(timedelta(hours=9))
HEADER = "email,currency,available,in_use\n"


def make_accounts(app, *emails) -> dict[str, int]:
    """Accounts that never sign in: no password hashing, which would be most of these tests' time."""
    with app.app_context():
        accounts = [Account(email=email, password_hash="!") for email in emails]
        db.session.add_all(accounts)
        db.session.commit()
        return {account.email: account.id for account in accounts}


def entries_of(app, account_id=None) -> list[JournalEntry]:
    with app.app_context():
        query = select(JournalEntry).order_by(JournalEntry.id)
        if account_id is not None:
            query = query.where(JournalEntry.account_id == account_id)
        entries = list(db.session.execute(query).scalars())
        db.session.expunge_all()
        return entries


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- every change is journalled --------------------------------------------------------------

def test_each_change_writes_its_entry_in_the_same_transaction(app):
    ids = make_accounts(app, "alice@example.com")
    alice = ids["alice@example.com"]
    with app.app_context():
        assert apply_changes([BalanceChange(alice, "btc", Decimal("1.5"), Decimal("0.25"))], reason="opening", source="test") == 1
        db.session.commit()
        entry = adjust(alice, "btc", available=Decimal("-0.5"), in_use=Decimal("0.00000001"), reason="trade", source="test")
        db.session.commit()
        assert entry.sequence == 2
        # A change rolled back leaves neither the balance nor its entry behind.
        apply_changes([BalanceChange(alice, "btc", Decimal(7), Decimal(0))], reason="rolled back", source="test")
        db.session.rollback()
        assert (db.session.get(Balance, (alice, "btc")).available) == Decimal(1)
    first, second = entries_of(app)
    assert (first.sequence, first.available_before, first.in_use_before, first.available_after, first.in_use_after) == (
        1, Decimal(0), Decimal(0), Decimal("1.5"), Decimal("0.25"))
    assert (second.available_before, second.in_use_before, second.available_after, second.in_use_after) == (
        Decimal("1.5"), Decimal("0.25"), Decimal(1), Decimal("0.25000001"))
    assert (first.reason, first.source, second.reason) == ("opening", "test", "trade")
    assert first.effective_at == first.recorded_at and first.effective_at.tzinfo is not None
    assert first.idempotency_key is None


def test_a_change_to_the_same_figures_writes_nothing(app):
    alice = make_accounts(app, "alice@example.com")["alice@example.com"]
    with app.app_context():
        change = BalanceChange(alice, "xem", Decimal(10), Decimal(0))
        assert apply_changes([change], reason="a", source="test") == 1
        assert apply_changes([change], reason="b", source="test") == 0
        db.session.commit()
    assert len(entries_of(app)) == 1


def test_the_demo_seed_journals_its_balances_once(app, runner):
    app.config["ENV_NAME"] = "development"
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    journalled = len(entries_of(app))
    # The demo's year (deposits, trades, a withdrawal) and then today's balances.
    assert journalled > sum(1 for available, in_use in DEMO_BALANCES.values() if available or in_use)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert len(entries_of(app)) == journalled
    assert runner.invoke(args=["balances", "verify"]).exit_code == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"available": Decimal("-2")}, "would be negative"),
    ({"in_use": Decimal("-0.000001")}, "would be negative"),
    ({"available": Decimal("0.0000001")}, "more than 6 decimal places"),
    ({"available": 0.5}, "exact Decimal"),
    ({"available": Decimal(1), "at": datetime(2999, 1, 1, tzinfo=UTC)}, "in the future"),
    ({"available": Decimal(1), "at": datetime(2018, 1, 1)}, "time zone"),
    ({"available": Decimal(1), "at": datetime(2018, 1, 1, tzinfo=UTC)}, "before its latest journal entry"),
])
def test_the_ledger_refuses_what_must_not_be(app, kwargs, message):
    alice = make_accounts(app, "alice@example.com")["alice@example.com"]
    with app.app_context():
        adjust(alice, "xem", available=Decimal(1), reason="opening", source="test")
        db.session.commit()
        with pytest.raises(LedgerError, match=message):
            adjust(alice, "xem", **kwargs, reason="bad", source="test")
        db.session.rollback()
        with pytest.raises(LedgerError, match="unknown currency"):
            adjust(alice, "doge", available=Decimal(1), reason="bad", source="test")
        db.session.rollback()
    assert len(entries_of(app)) == 1


# --- append-only ----------------------------------------------------------------------------

@pytest.mark.parametrize("statement", ["UPDATE journal_entries SET reason = 'edited'", "DELETE FROM journal_entries"])
def test_the_database_refuses_to_change_or_delete_journal_entries(app, statement):
    alice = make_accounts(app, "alice@example.com")["alice@example.com"]
    with app.app_context():
        adjust(alice, "btc", available=Decimal(1), reason="opening", source="test")
        db.session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
        entry = db.session.execute(select(JournalEntry)).scalar_one()
        entry.available_after = Decimal(1000)  # through the ORM, too
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
    [entry] = entries_of(app)
    assert (entry.reason, entry.available_after) == ("opening", Decimal(1))


def test_an_account_with_history_cannot_be_deleted(app):
    alice = make_accounts(app, "alice@example.com")["alice@example.com"]
    with app.app_context():
        adjust(alice, "btc", available=Decimal(1), reason="opening", source="test")
        db.session.commit()
        with pytest.raises(DBAPIError):
            db.session.execute(text("DELETE FROM accounts"))
        db.session.rollback()
    assert len(entries_of(app)) == 1


# --- the CLI ---------------------------------------------------------------------------------

def test_set_and_adjust_go_through_the_journal(app, runner):
    make_accounts(app, "alice@example.com")
    result = runner.invoke(args=["balances", "set", "Alice@Example.com", "BTC", "--available", "1.5", "--in-use", "0.5"])
    assert result.exit_code == 0, result.output
    assert "alice@example.com btc: available 0 -> 1.5, in use 0 -> 0.5 (journal #1)" in result.output
    result = runner.invoke(args=["balances", "adjust", "alice@example.com", "btc", "--available", "-0.25", "--reason", "withdrawal 42"])
    assert "available 1.5 -> 1.25, in use 0.5 -> 0.5 (journal #2)" in result.output
    same = runner.invoke(args=["balances", "set", "alice@example.com", "btc", "--in-use", "0.5"])
    assert same.exit_code == 0 and "already so; nothing changed" in same.output
    [_, second] = entries_of(app)
    assert second.reason == "withdrawal 42" and second.source.startswith("cli")


@pytest.mark.parametrize("arguments, message", [
    (["adjust", "alice@example.com", "btc", "--available", "-5"], "would be negative"),
    (["set", "alice@example.com", "btc", "--available", "-5"], "negative amount"),
    (["set", "alice@example.com", "jpy", "--available", "1.5"], "the currency has 0"),
    (["set", "alice@example.com", "btc", "--available", "1e3"], "not a plain decimal number"),
    (["set", "alice@example.com", "btc"], "give --available, --in-use or both"),
    (["set", "nobody@example.com", "btc", "--available", "1"], "no account with the email nobody@example.com"),
    (["set", "alice@example.com", "doge", "--available", "1"], "unknown currency 'doge'"),
])
def test_set_and_adjust_refuse_bad_input(app, runner, arguments, message):
    make_accounts(app, "alice@example.com")
    result = runner.invoke(args=["balances", *arguments])
    assert result.exit_code != 0 and message in result.output
    assert entries_of(app) == []


def test_history_prints_an_accounts_journal_oldest_first(app, runner, tmp_path):
    make_accounts(app, "alice@example.com", "bob@example.com")
    path = write(tmp_path, "jan.csv", HEADER + "alice@example.com,xem,1000,0\nbob@example.com,xem,5,0\n")
    assert runner.invoke(args=["balances", "import", path, "--as-of", "2018-01-20T10:00:00+09:00"]).exit_code == 0
    assert runner.invoke(args=["balances", "adjust", "alice@example.com", "xem", "--in-use", "250"]).exit_code == 0
    result = runner.invoke(args=["balances", "history", "alice@example.com"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "alice@example.com: 2 journal entries"
    assert lines[1].startswith("2018-01-20 10:00:00+09:00  xem #1  available 0 -> 1000  in use 0 -> 0  balance import (import jan.csv sha256:")
    assert "[recorded " in lines[1]  # a backdated entry shows when it was really written
    assert "xem #2  available 1000 -> 1000  in use 0 -> 250  manual correction (cli" in lines[2] and "[recorded" not in lines[2]
    assert runner.invoke(args=["balances", "history", "alice@example.com", "--currency", "btc"]).output == "alice@example.com: 0 journal entries\n"
    missing = runner.invoke(args=["balances", "history", "nobody@example.com"])
    assert missing.exit_code != 0 and "no account" in missing.output


def test_verify_finds_a_balance_changed_behind_the_ledgers_back(app, runner):
    alice = make_accounts(app, "alice@example.com")["alice@example.com"]
    assert runner.invoke(args=["balances", "set", "alice@example.com", "btc", "--available", "2"]).exit_code == 0
    assert runner.invoke(args=["balances", "adjust", "alice@example.com", "btc", "--available", "1"]).exit_code == 0
    ok = runner.invoke(args=["balances", "verify"])
    assert ok.exit_code == 0 and "ok: 1 balance(s) and 2 journal entries agree" in ok.output
    with app.app_context():
        db.session.execute(update(Balance).values(available=Decimal("30")))
        db.session.add(Balance(account_id=alice, currency_code="eth", available=Decimal(1), in_use=Decimal(0)))
        # An entry appended by hand that does not start where the chain ended.
        db.session.add(JournalEntry(account_id=alice, currency_code="btc", sequence=4, available_before=Decimal(9), in_use_before=Decimal(0),
                                    available_after=Decimal(30), in_use_after=Decimal(0), reason="forged", source="sql",
                                    effective_at=datetime.now(UTC), recorded_at=datetime.now(UTC)))
        db.session.commit()
    bad = runner.invoke(args=["balances", "verify"])
    assert bad.exit_code == 1
    assert "alice@example.com btc: entry 3 is numbered 4" in bad.output
    assert "alice@example.com btc: entry 4 starts from available 9 / in use 0, the entry before ended at available 3 / in use 0" in bad.output
    assert "alice@example.com eth: balance is available 1 / in use 0 with no journal entry" in bad.output
    assert "3 problem(s) in 2 balance(s), 3 journal entries" in bad.output


# --- holdings as of a past moment: the NEM incident --------------------------------------------

# Coincheck lost its customers' NEM on 2018-01-26 (JST); compensation (88.549 JPY per XEM) went to
# whoever held XEM at 23:59:59 JST that day. Balances as the imports stood at four moments:
NEM_FILES = [
    ("2018-01-20T10:00:00+09:00", "alice@example.com,xem,1000000.5,0\nbob@example.com,xem,250000,50000\n"
                                  "carol@example.com,xem,300,0\nalice@example.com,btc,1.5,0\n"),
    ("2018-01-26T12:07:00+09:00", "carol@example.com,xem,0,0\ndave@example.com,xem,12345.678901,0\n"),
    ("2018-01-26T23:59:59+09:00", "bob@example.com,xem,260000,40000\n"),  # at the very moment: counts
    ("2018-01-27T00:00:00+09:00", "alice@example.com,xem,5,0\nerin@example.com,xem,777,0\nbob@example.com,xem,1,0\n"),
]
XEM_AT_MIDNIGHT = HEADER + ("alice@example.com,xem,1000000.5,0\n"
                            "bob@example.com,xem,260000,40000\n"
                            "carol@example.com,xem,0,0\n"
                            "dave@example.com,xem,12345.678901,0\n")


@pytest.fixture
def nem_history(app, runner, tmp_path):
    make_accounts(app, *(f"{name}@example.com" for name in ("alice", "bob", "carol", "dave", "erin")))
    for number, (moment, lines) in enumerate(NEM_FILES):
        result = runner.invoke(args=["balances", "import", write(tmp_path, f"{number}.csv", HEADER + lines), "--as-of", moment])
        assert result.exit_code == 0, result.output
    # And today, long after: dave trades again.
    assert runner.invoke(args=["balances", "adjust", "dave@example.com", "xem", "--available", "+1"]).exit_code == 0


def test_holdings_of_xem_at_the_end_of_2018_01_26_jst(runner, nem_history):
    result = runner.invoke(args=["balances", "as-of", "2018-01-26T23:59:59+09:00", "--currency", "XEM"])
    assert result.exit_code == 0, result.output
    assert result.stdout == XEM_AT_MIDNIGHT
    # The same moment in UTC; a naive time is read in the display zone, and says so.
    assert runner.invoke(args=["balances", "as-of", "2018-01-26T14:59:59Z", "--currency", "xem"]).stdout == XEM_AT_MIDNIGHT
    naive = runner.invoke(args=["balances", "as-of", "2018-01-26T23:59:59", "--currency", "xem"])
    assert naive.stdout == XEM_AT_MIDNIGHT
    assert "no UTC offset; read as Asia/Tokyo time (2018-01-26T23:59:59+09:00)" in naive.stderr


def test_holdings_one_second_earlier_and_after_midnight_differ(runner, nem_history):
    before = runner.invoke(args=["balances", "as-of", "2018-01-26T23:59:58+09:00", "--currency", "xem"]).stdout
    assert "bob@example.com,xem,250000,50000\n" in before
    after = runner.invoke(args=["balances", "as-of", "2018-01-27T00:00:00+09:00", "--currency", "xem"]).stdout
    assert after == HEADER + ("alice@example.com,xem,5,0\nbob@example.com,xem,1,0\ncarol@example.com,xem,0,0\n"
                              "dave@example.com,xem,12345.678901,0\nerin@example.com,xem,777,0\n")
    every_currency = runner.invoke(args=["balances", "as-of", "2018-01-26T23:59:59+09:00"]).stdout
    assert every_currency.splitlines()[1:3] == ["alice@example.com,btc,1.5,0", "alice@example.com,xem,1000000.5,0"]
    assert runner.invoke(args=["balances", "as-of", "2018-01-01T00:00:00+09:00"]).stdout == HEADER
    # Today's balances are not the balances of that night.
    assert "dave@example.com,xem,12346.678901,0" in runner.invoke(args=["balances", "export"]).output


@pytest.mark.parametrize("arguments, message", [
    (["yesterday"], "not an ISO 8601 timestamp"),
    (["2018-02-30T00:00:00+09:00"], "not an ISO 8601 timestamp"),
    (["2018-01-26T23:59:59+09:00", "--currency", "doge"], "unknown currency"),
])
def test_as_of_refuses_bad_input(app, runner, arguments, message):
    result = runner.invoke(args=["balances", "as-of", *arguments])
    assert result.exit_code != 0 and message in result.output


def test_an_import_cannot_be_dated_in_the_future_or_before_the_history_it_joins(app, runner, tmp_path, nem_history):
    future = runner.invoke(args=["balances", "import", write(tmp_path, "f.csv", HEADER + "erin@example.com,btc,1,0\n"),
                                 "--as-of", "2999-01-01T00:00:00+09:00"])
    assert future.exit_code != 0 and "in the future" in future.output
    rewrite = runner.invoke(args=["balances", "import", write(tmp_path, "r.csv", HEADER + "carol@example.com,xem,999,0\n"),
                                  "--as-of", "2018-01-25T00:00:00+09:00"])
    assert rewrite.exit_code != 0 and "line 2:" in rewrite.output and "before its latest journal entry" in rewrite.output
    assert runner.invoke(args=["balances", "as-of", "2018-01-26T23:59:59+09:00", "--currency", "xem"]).stdout == XEM_AT_MIDNIGHT


# --- concurrency, on the real PostgreSQL server ---------------------------------------------------

THREADS, OPERATIONS = 8, 50


def run_threads(app, count, work):
    """Run work(n) in `count` threads, each in its own app context (its own session and
    connection), all released together; returns their results and re-raises any error."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(n):
        try:
            with app.app_context():
                barrier.wait(10)
                results[n] = work(n)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    if errors:
        raise errors[0]
    return results


# SQLite serialises writers on the whole database file and ignores FOR UPDATE: the races these
# tests look for exist only on PostgreSQL, so they run there alone (overriding the backend param).
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"])


@postgresql_only
def test_concurrent_adjustments_lose_no_update_and_keep_the_chain(app, backend):
    account = make_accounts(app, "race@example.com")["race@example.com"]
    step, fee = Decimal("0.00000001"), Decimal(1)

    def increments(n):
        retries = 0
        for i in range(OPERATIONS):
            _, retried = in_transaction(lambda i=i: adjust(account, "btc", available=step, in_use=fee, reason=f"race {n}.{i}", source="test"))
            retries += retried
        return retries

    retries = run_threads(app, THREADS, increments)
    total = THREADS * OPERATIONS
    with app.app_context():
        balance = db.session.get(Balance, (account, "btc"))
        assert (balance.available, balance.in_use) == (step * total, fee * total)
        assert verify() == (1, total, [])
    entries = entries_of(app)
    assert sorted(entry.sequence for entry in entries) == list(range(1, total + 1))
    assert all(entry.available_after - entry.available_before == step for entry in entries)
    print(f"\nconcurrency: {THREADS} threads x {OPERATIONS} adjustments = {total}; final available {balance.available}, "
          f"in use {balance.in_use}; journal sequence 1..{total} unbroken; retries {sum(retries)}")


@postgresql_only
def test_concurrent_imports_in_opposite_orders_neither_deadlock_nor_mix(app, backend, tmp_path):
    emails = [f"user{n:02d}@example.com" for n in range(20)]
    make_accounts(app, *emails)
    files = [
        (HEADER + "".join(f"{email},xem,{n + 1},0\n" for n, email in enumerate(emails))).encode(),
        (HEADER + "".join(f"{email},xem,{n + 1}000,1\n" for n, email in reversed(list(enumerate(emails))))).encode(),
    ]
    results = run_threads(app, 2, lambda n: in_transaction(lambda: import_balances(files[n], name=f"file{n}")))
    with app.app_context():
        final = [tuple(row) for row in db.session.execute(select(Balance.available, Balance.in_use).order_by(Balance.account_id))]
        assert verify()[2] == []
    # The import that committed last holds every balance: the two never interleave.
    assert final in ([(Decimal(n + 1), Decimal(0)) for n in range(20)], [(Decimal(f"{n + 1}000"), Decimal(1)) for n in range(20)])
    assert [result.changed for result, _ in results] == [20, 20]
    assert len(entries_of(app)) == 40


@postgresql_only
def test_the_same_file_imported_concurrently_is_applied_once(app, backend):
    emails = [f"user{n:02d}@example.com" for n in range(10)]
    make_accounts(app, *emails)
    data = (HEADER + "".join(f"{email},btc,0.5,0\n" for email in emails)).encode()
    results = run_threads(app, 4, lambda n: in_transaction(lambda: import_balances(data, name="same.csv"))[0])
    assert sorted(result.changed for result in results) == [0, 0, 0, 10]
    assert all(result.already_applied == 10 for result in results if result.changed == 0)
    assert len(entries_of(app)) == 10
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Balance)) == 10
