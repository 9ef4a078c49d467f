"""Backup and restore: scripts/backup.sh dumps a populated PostgreSQL database, scripts/restore.sh
puts it into a new empty one, and the copy passes `balances verify` with its hash chain and an
anchor taken before the backup; a copy with one journal row edited fails it, naming the row. The
scripts refuse what they must (an existing backup file, a database that is not empty, a file
that is no backup, a URL that is not PostgreSQL)."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dashboard.extensions import db
from dashboard.ledger.batches import lock_many, write_locked
from dashboard.ledger.changes import BalanceChange, adjust
from dashboard.models import Account
from tests.conftest import dispose_engines, make_app, missing, postgres_url

ROOT = Path(__file__).resolve().parents[2]


def pg_bindir() -> str:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        pytest.fail("pg_config is not installed: the backup's tests need PostgreSQL's pg_dump and pg_restore")
    return subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def databases(request):
    """New databases on the test server, made on demand and dropped after the test."""
    base = make_url(postgres_url())
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    made = []

    def new() -> str:
        name = f"backup_test_{uuid.uuid4().hex[:10]}"
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as error:  # noqa: BLE001 - reported as a skip or CI failure
            missing(f"cannot create a database on the PostgreSQL of TEST_DATABASE_URL: {error.__class__.__name__}")
        made.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield new
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def script(name: str, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PG_BINDIR": pg_bindir(), **(env or {})}
    environment.pop("DATABASE_URL", None)
    environment.update(env or {})
    return subprocess.run(["bash", str(ROOT / "scripts" / name), *arguments], capture_output=True, text=True,
                          env=environment, timeout=120, check=False)


def populate(url: str) -> None:
    """A migrated database with accounts, single changes and a batch, as the app writes them."""
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade()
        accounts = [Account(email=f"user{n}@example.com", password_hash="!") for n in range(3)]
        db.session.add_all(accounts)
        db.session.commit()
        ids = [account.id for account in accounts]
        for n, account_id in enumerate(ids):
            adjust(account_id, "xem", available=Decimal(f"{n + 1}000.5"), reason="deposit", source="test")
            adjust(account_id, "btc", available=Decimal("0.00000001"), in_use=Decimal(n), reason="order", source="test")
        db.session.commit()
        locked = lock_many({(account_id, "jpy") for account_id in ids})
        write_locked([BalanceChange(account_id, "jpy", Decimal(88549), Decimal(0), key=f"comp:{account_id}") for account_id in ids],
                     locked, source="test batch")
        db.session.commit()
        db.session.remove()
        dispose_engines()


def cli(url: str, *arguments: str):
    app = make_app(url)
    try:
        return app.test_cli_runner().invoke(args=list(arguments))
    finally:
        with app.app_context():
            db.session.remove()
            dispose_engines()


def test_a_restored_backup_verifies_and_an_edited_copy_is_named(databases, tmp_path):
    source = databases()
    populate(source)
    anchored = cli(source, "journal", "anchor")
    assert anchored.exit_code == 0, anchored.output
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(anchored.stdout)
    backup = tmp_path / "wallet.dump"
    made = script("backup.sh", str(backup), env={"DATABASE_URL": source})
    assert made.returncode == 0, made.stderr
    assert f"backup: {backup} written" in made.stdout and backup.stat().st_size > 0

    copy = databases()
    restored = script("restore.sh", str(backup), copy)
    assert restored.returncode == 0, restored.stderr
    verified = cli(copy, "balances", "verify", "--anchor", str(anchors))
    assert verified.exit_code == 0, verified.output
    assert "ok: 9 balance(s) and 9 journal entries agree, every hash holds; the journal extends 1 anchor(s)" in verified.output

    # A copy with one old row edited, the trigger dropped in the copy: named.
    edited = databases()
    assert script("restore.sh", str(backup), edited).returncode == 0
    engine = create_engine(edited)
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER journal_entries_append_only ON journal_entries"))
        entry_id = connection.execute(text("SELECT min(id) FROM journal_entries WHERE currency_code = 'xem'")).scalar()
        connection.execute(text("UPDATE journal_entries SET reason = 'withdrawal' WHERE id = :id"), {"id": entry_id})
    engine.dispose()
    refused = cli(edited, "balances", "verify", "--anchor", str(anchors))
    assert refused.exit_code == 1
    assert f"user0@example.com xem: entry 1 (id {entry_id}) was changed: its hash does not hold over its contents" in refused.output


def test_the_scripts_refuse_what_they_must(databases, tmp_path):
    source = databases()
    populate(source)
    backup = tmp_path / "wallet.dump"
    assert script("backup.sh", str(backup), source).returncode == 0
    again = script("backup.sh", str(backup), source)
    assert again.returncode == 1 and "exists; refusing to overwrite it" in again.stderr
    # Into a database that holds tables: refused, and nothing of the backup is restored.
    into_used = script("restore.sh", str(backup), source)
    assert into_used.returncode == 1 and "the database is not empty" in into_used.stderr
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello\n")
    empty = databases()
    wrong = script("restore.sh", str(not_a_backup), empty)
    assert wrong.returncode == 1 and "is not a backup in pg_dump's custom format" in wrong.stderr
    assert script("restore.sh", str(tmp_path / "nowhere.dump"), empty).stderr.startswith("restore: no backup file")
    sqlite = script("backup.sh", str(tmp_path / "x.dump"), "sqlite:///instance/dashboard.sqlite3")
    assert sqlite.returncode == 2 and "SQLite" in sqlite.stderr
    nothing = script("backup.sh", str(tmp_path / "x.dump"))
    assert nothing.returncode == 2 and "no database" in nothing.stderr
    assert script("restore.sh").returncode == 2
    assert not (tmp_path / "x.dump").exists()
    # The empty database stayed empty and can still take the backup.
    assert script("restore.sh", str(backup), empty).returncode == 0
