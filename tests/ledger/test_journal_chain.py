"""The journal's hash chain: whoever drops the append-only trigger and rewrites history is named
by `balances verify` (a changed entry, a missing one, two in swapped order), and a rewrite whose
hashes were all recomputed is still caught by an anchor recorded before it; concurrent writers on
PostgreSQL never chain from the same entry; a journal written before the chain is hashed by its
migration."""
from __future__ import annotations

import importlib.util
import json
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from dashboard.core.journal_hash import entry_hash
from dashboard.extensions import db
from dashboard.ledger.batches import lock_many, write_locked
from dashboard.ledger.changes import BalanceChange, adjust, in_transaction
from dashboard.ledger.journal import verify
from dashboard.models import Account, Balance, JournalEntry, hashed_fields
from tests.conftest import dispose_engines, make_app, postgres_url, with_search_path
from tests.ledger.test_journal import entries_of, make_accounts, postgresql_only, run_threads


@contextmanager
def trigger_dropped(app):
    """The append-only trigger dropped, as an owner or an attacker could, and put back after."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            definitions = connection.exec_driver_sql(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'journal_entries'::regclass"
                " AND tgname = 'journal_entries_append_only'").scalars().all()
            connection.exec_driver_sql("DROP TRIGGER journal_entries_append_only ON journal_entries")
        else:
            definitions = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'journal_entries'").scalars().all()
            for name in ("journal_entries_no_update", "journal_entries_no_delete"):
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
    assert definitions
    try:
        yield
    finally:
        with app.app_context(), db.engine.begin() as connection:
            for definition in definitions:
                connection.exec_driver_sql(definition)
            dispose_engines()


def tamper(app, *statements, **parameters):
    with trigger_dropped(app), app.app_context(), db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), parameters)


@pytest.fixture
def history(app, runner):
    """Two accounts, each with a few entries on two balances; returns alice's btc entries."""
    make_accounts(app, "alice@example.com", "bob@example.com")
    for arguments in (["set", "alice@example.com", "btc", "--available", "2"],
                      ["set", "bob@example.com", "btc", "--available", "7.5"],
                      ["adjust", "alice@example.com", "btc", "--available", "-0.5", "--reason", "withdrawal 1"],
                      ["adjust", "alice@example.com", "jpy", "--available", "1000"],
                      ["adjust", "alice@example.com", "btc", "--in-use", "0.25", "--reason", "order 2"],
                      ["adjust", "alice@example.com", "btc", "--available", "1", "--reason", "deposit 3"]):
        result = runner.invoke(args=["balances", *arguments])
        assert result.exit_code == 0, result.output
    clean = runner.invoke(args=["balances", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "ok: 3 balance(s) and 6 journal entries agree, every hash holds" in clean.output
    return [entry for entry in entries_of(app) if entry.currency_code == "btc" and entry.account_id == min(e.account_id for e in entries_of(app))]


def failed(runner, *arguments) -> str:
    result = runner.invoke(args=["balances", "verify", *arguments])
    assert result.exit_code == 1, result.output
    return result.output


def test_every_entry_carries_the_hash_of_its_contents_and_the_entry_before_it(app, history):
    first, second, third, fourth = history
    assert [entry.sequence for entry in history] == [1, 2, 3, 4]
    assert first.prev_hash is None
    assert [second.prev_hash, third.prev_hash, fourth.prev_hash] == [first.hash, second.hash, third.hash]
    for entry in history:
        assert entry.hash == entry_hash(**hashed_fields(entry, entry.prev_hash))


def test_an_old_entry_edited_with_the_trigger_dropped_is_named(app, runner, history):
    second = history[1]
    tamper(app, "UPDATE journal_entries SET reason = 'deposit' WHERE id = :id", id=second.id)
    output = failed(runner)
    assert f"alice@example.com btc: entry 2 (id {second.id}) was changed: its hash does not hold over its contents" in output
    assert "1 problem(s) in 3 balance(s), 6 journal entries" in output


def test_an_amount_edited_as_postgresql_would_pad_it_is_no_change_but_a_new_figure_is(app, runner, history):
    # The same value written with trailing zeros (as NUMERIC(40,18) pads it) is the same text.
    second = history[1]
    tamper(app, "UPDATE journal_entries SET available_after = :same WHERE id = :id", same="1.500000", id=second.id)
    assert runner.invoke(args=["balances", "verify"]).exit_code == 0
    tamper(app, "UPDATE journal_entries SET available_after = :more, available_before = :before WHERE id = :id",
           more="1.6", before="2", id=second.id)
    assert f"entry 2 (id {second.id}) was changed: its hash does not hold over its contents" in failed(runner)


def test_a_deleted_entry_is_named_by_the_entry_after_it(app, runner, history):
    second, third = history[1], history[2]
    tamper(app, "DELETE FROM journal_entries WHERE id = :id", id=second.id)
    output = failed(runner)
    assert (f"alice@example.com btc: entry 3 (id {third.id}) does not chain from the entry before it: "
            "an entry before it is missing, or was rewritten") in output
    assert "alice@example.com btc: entry 2 is numbered 3" in output


def test_two_entries_in_swapped_order_are_named(app, runner, history):
    second, third = history[1], history[2]
    tamper(app, "UPDATE journal_entries SET sequence = 1000 WHERE id = :second",
           "UPDATE journal_entries SET sequence = 2 WHERE id = :third",
           "UPDATE journal_entries SET sequence = 3 WHERE id = :second", second=second.id, third=third.id)
    output = failed(runner)
    assert (f"alice@example.com btc: entry 2 (id {third.id}) is out of order: it chains from entry 3 (id {second.id}), "
            "not from the entry before it") in output


def recompute_chain(app, account_id, currency):
    """What an attacker who knows the encoding does after a rewrite: every hash of the balance
    recomputed, so the chain alone holds again."""
    with trigger_dropped(app), app.app_context():
        previous = None
        for entry in db.session.execute(select(JournalEntry).where(JournalEntry.account_id == account_id,
                                                                    JournalEntry.currency_code == currency)
                                        .order_by(JournalEntry.sequence)).scalars():
            entry.prev_hash, entry.hash = previous, entry_hash(**hashed_fields(entry, previous))
            previous = entry.hash
        db.session.commit()
        dispose_engines()


def test_a_rewrite_with_every_hash_recomputed_is_caught_by_an_earlier_anchor(app, runner, history, tmp_path):
    anchored = runner.invoke(args=["journal", "anchor"])
    assert anchored.exit_code == 0, anchored.output
    line = json.loads(anchored.stdout)
    assert set(line) == {"entry_id", "hash", "at"} and line["entry_id"] == max(entry.id for entry in entries_of(app))
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(anchored.stdout)
    # The journal goes on after the anchor: it still extends it.
    assert runner.invoke(args=["balances", "adjust", "bob@example.com", "btc", "--available", "1"]).exit_code == 0
    assert runner.invoke(args=["journal", "anchor"]).stdout != anchored.stdout
    anchors.write_text(anchored.stdout + runner.invoke(args=["journal", "anchor"]).stdout)
    ok = runner.invoke(args=["balances", "verify", "--anchor", str(anchors)])
    assert ok.exit_code == 0 and "every hash holds; the journal extends 2 anchor(s)" in ok.output
    # Rewritten before the anchor, every hash after recomputed: the chain holds, the anchors do not.
    first = history[0]
    tamper(app, "UPDATE journal_entries SET source = 'someone else' WHERE id = :id", id=first.id)
    recompute_chain(app, first.account_id, "btc")
    assert runner.invoke(args=["balances", "verify"]).exit_code == 0
    output = failed(runner, "--anchor", str(anchors))
    assert f"anchor on line 1 ({line['at']}): the journal no longer extends it" in output
    assert "anchor on line 2" in output


def test_an_anchor_of_an_entry_the_journal_does_not_hold_fails(app, runner, history, tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(json.dumps({"entry_id": 999999, "hash": "0" * 64, "at": "2026-12-07T19:00:00Z"}) + "\n")
    assert "entry 999999 is not in the journal" in failed(runner, "--anchor", str(anchors))


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("", "the file holds no anchor"),
    ("not json\n", "line 1 is not JSON"),
    ('{"entry_id": 1, "hash": "' + "a" * 64 + '"}\n', "line 1 is not an anchor: it must be an object with exactly the fields entry_id, hash, at"),
    ('[1, 2]\n', "line 1 is not an anchor"),
    ('\n{"entry_id": -1, "hash": "' + "a" * 64 + '", "at": "2026-12-07T19:00:00Z"}\n', "line 2: entry_id must be a whole number"),
    ('{"entry_id": true, "hash": "' + "a" * 64 + '", "at": "2026-12-07T19:00:00Z"}\n', "entry_id must be a whole number"),
    ('{"entry_id": 1, "hash": "' + "A" * 64 + '", "at": "2026-12-07T19:00:00Z"}\n', "hash must be 64 lower-case hexadecimal digits"),
    ('{"entry_id": 1, "hash": "' + "a" * 64 + '", "at": "yesterday"}\n', "at must be an ISO 8601 time with its UTC offset"),
    ('{"entry_id": 1, "hash": "' + "a" * 64 + '", "at": "2026-12-07T19:00:00"}\n', "at must be an ISO 8601 time with its UTC offset"),
    (b"\xff\xfe\n", "it is not UTF-8 text"),
])
def test_a_bad_anchor_file_is_refused_with_the_reason(app, runner, tmp_path, content, message):
    path = tmp_path / "anchors.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = runner.invoke(args=["balances", "verify", "--anchor", str(path)])
    assert result.exit_code != 0 and message in result.output, result.output
    assert "ok:" not in result.output


# --- concurrency, on the real PostgreSQL server -----------------------------------------------

@postgresql_only
def test_concurrent_batches_and_adjustments_never_chain_from_the_same_entry(app, backend):
    ids = list(make_accounts(app, *(f"user{n}@example.com" for n in range(5))).values())

    def write(n):
        for i in range(20):
            if n == 0:  # batches of every balance at once, as a compensation run writes them
                def batch(i=i):
                    locked = lock_many({(account, "btc") for account in ids})
                    changes = [BalanceChange(account, "btc", locked[account, "btc"].available + 1, Decimal(0), key=f"b{i}:{account}")
                               for account in ids]
                    return write_locked(changes, locked, source="test")
                in_transaction(batch)
            else:  # one balance at a time
                in_transaction(lambda i=i: adjust(ids[i % len(ids)], "btc", available=Decimal("0.5"), reason=f"w{n}.{i}", source="test"))

    run_threads(app, 3, write)
    entries = entries_of(app)
    assert len(entries) == 20 * len(ids) + 2 * 20
    # Each entry is chained from by at most one other: the chains never fork.
    assert max(Counter((entry.account_id, entry.prev_hash) for entry in entries).values()) == 1
    with app.app_context():
        assert verify() == (len(ids), len(entries), [])


# --- the migration hashes a journal written before the chain ------------------------------------

def fresh_database(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path / "before-0015.sqlite3")
    base = postgres_url()
    schema = "chain_migration_" + uuid.uuid4().hex[:10]
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()

    request.addfinalizer(drop)
    return with_search_path(base, schema)


def migration_module():
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0015_journal_hash_chain.py"
    spec = importlib.util.spec_from_file_location("migration_0015", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_hashes_a_journal_written_before_the_chain(backend, tmp_path, request):
    from flask_migrate import upgrade

    url = fresh_database(backend, tmp_path, request)
    app = make_app(url)
    with app.app_context():
        upgrade(revision="0014")
        with db.engine.begin() as connection:
            connection.execute(insert(Account.__table__), [{"email": "old@example.com", "password_hash": "!"},
                                                            {"email": "two@example.com", "password_hash": "!"}])
            ids = dict(connection.execute(text("SELECT email, id FROM accounts")).all())
            params = {"rate": "88.549", "currency": "xem"}
            rows = [
                ("old", "btc", 1, "0", "1.50000000", datetime(2018, 1, 20, 10, 0, 0, 123456, UTC), params),
                ("old", "btc", 2, "1.50000000", "0.25", datetime(2018, 1, 21, 10, tzinfo=UTC), None),
                ("two", "xem", 1, "0", "1000000.5", datetime(2018, 1, 22, 10, tzinfo=UTC), None),
                ("old", "xem", 1, "0", "3", datetime(2018, 1, 23, 10, tzinfo=UTC), params),
                ("old", "btc", 3, "0.25", "0.75", datetime(2018, 1, 24, 10, tzinfo=UTC), None),
            ]
            # Only the columns 0014 has: the hash columns are not there yet.
            connection.execute(insert(JournalEntry.__table__), [
                {"account_id": ids[f"{account}@example.com"], "currency_code": currency, "sequence": sequence,
                 "available_before": Decimal(before), "in_use_before": Decimal(0), "available_after": Decimal(after),
                 "in_use_after": Decimal(0), "reason": "opening", "reason_code": "compensation" if params else None,
                 "reason_params": params, "source": "old", "effective_at": moment, "recorded_at": moment}
                for account, currency, sequence, before, after, moment, params in rows])
            final = {(ids[f"{account}@example.com"], currency): Decimal(after) for account, currency, _, _, after, _, _ in rows}
            connection.execute(insert(Balance.__table__), [
                {"account_id": account_id, "currency_code": currency, "available": available, "in_use": Decimal(0)}
                for (account_id, currency), available in final.items()])
        upgrade()
        assert verify() == (3, 5, [])
        hashes = db.session.execute(select(JournalEntry.sequence, JournalEntry.prev_hash, JournalEntry.hash)
                                    .where(JournalEntry.currency_code == "btc").order_by(JournalEntry.sequence)).all()
        assert hashes[0].prev_hash is None and [row.prev_hash for row in hashes[1:]] == [row.hash for row in hashes[:-1]]
        # Read two rows at a time, a balance's chain crossing the chunks, the migration hashes the same.
        migration = migration_module()
        migration.CHUNK = 2
        with db.engine.connect() as connection:
            again = {row["entry_id"]: (row["new_prev_hash"], row["new_hash"])
                     for chunk in migration.hashed_chunks(connection) for row in chunk}
        assert again == {entry_id: (prev_hash, hash_) for entry_id, prev_hash, hash_ in db.session.execute(
            select(JournalEntry.id, JournalEntry.prev_hash, JournalEntry.hash))}
        db.session.remove()
        # The append-only trigger is in force again.
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text("UPDATE journal_entries SET reason = 'edited'"))
        dispose_engines()
