"""What PostgreSQL's triggers announce (migrations 0004 and 0011): one notification per statement
and account for accounts, sign-in sessions and balances, one for every account past
NOTIFY_ACCOUNTS, one per statement for rates and currencies; none for a statement that changed
no row."""
from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

CHANNEL = "dashboard_changes"


def _migration_0011():
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0011_notify_per_statement.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NOTIFY_ACCOUNTS = _migration_0011().NOTIFY_ACCOUNTS


@pytest.fixture
def announced(app):
    """announced(*statements): the payloads heard for statements run in one transaction, in order."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    writer = create_engine(url)
    listener = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)
    listener.execute(f"LISTEN {CHANNEL}")
    schema = listener.execute("SELECT current_schema()").fetchone()[0]
    sentinel = f"sentinel:{uuid.uuid4().hex}"  # this test's own: other workers send theirs on the same channel

    def until_sentinel() -> list[str]:
        with writer.begin() as connection:  # committed last: heard after everything before it
            connection.execute(text(f"SELECT pg_notify('{CHANNEL}', '{sentinel}')"))
        heard = []
        for notification in listener.notifies(timeout=10):
            if notification.payload == sentinel:
                return heard
            # The channel is the database's: other test workers' schemas are heard too.
            if notification.payload.startswith(schema + ":"):
                heard.append(notification.payload.removeprefix(schema + ":"))
        raise AssertionError(f"the sentinel never came; heard {heard}")

    def run(*statements, **parameters) -> list[str]:
        until_sentinel()  # what earlier set-up announced is not these statements'
        with writer.begin() as connection:
            for statement in statements:
                connection.execute(text(statement), parameters)
        return until_sentinel()

    yield run
    listener.close()
    writer.dispose()


def _account_ids(app, count: int) -> list[int]:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            return list(connection.execute(text(
                "INSERT INTO accounts (email, password_hash, created_at) "
                "SELECT 'n' || g || '@example.com', 'x', now() FROM generate_series(1, :count) g RETURNING id"), {"count": count}).scalars())
    finally:
        engine.dispose()


def test_one_statement_over_several_accounts_names_each_once(app, demo, announced):
    first, second = _account_ids(app, 2)
    heard = announced(
        "INSERT INTO balances (account_id, currency_code, available, in_use) VALUES (:a, 'jpy', 1, 0), (:a, 'btc', 2, 0), (:b, 'jpy', 3, 0)",
        "UPDATE balances SET available = available + 1 WHERE account_id IN (:a, :b)",
        a=first, b=second,
    )
    # PostgreSQL folds a payload repeated within a transaction into one.
    assert sorted(heard) == sorted([f"balances:{first}", f"balances:{second}"])


@pytest.mark.parametrize(("statement", "table"), [
    ("UPDATE accounts SET discreet = true WHERE id = :a", "accounts"),
    ("DELETE FROM balances WHERE account_id = :a", "balances"),
])
def test_each_kind_of_change_names_its_account(app, demo, announced, statement, table):
    (account,) = _account_ids(app, 1)
    announced("INSERT INTO balances (account_id, currency_code, available, in_use) VALUES (:a, 'jpy', 1, 0)", a=account)
    assert announced(statement, a=account) == [f"{table}:{account}"]


def test_a_row_moved_to_another_account_names_both(app, demo, announced):
    first, second = _account_ids(app, 2)
    announced("INSERT INTO balances (account_id, currency_code, available, in_use) VALUES (:a, 'jpy', 1, 0)", a=first)
    assert sorted(announced("UPDATE balances SET account_id = :b WHERE account_id = :a", a=first, b=second)) == \
        sorted([f"balances:{first}", f"balances:{second}"])


def test_past_the_limit_one_notification_stands_for_every_account(app, demo, announced):
    heard = announced(
        "INSERT INTO accounts (email, password_hash, created_at) SELECT 'many' || g || '@example.com', 'x', now() "
        "FROM generate_series(1, :count) g", count=NOTIFY_ACCOUNTS + 1)
    assert heard == ["accounts:*"]
    # At the limit, each account is still named.
    heard = announced(f"UPDATE accounts SET discreet = true WHERE email LIKE 'many%' AND id <= (SELECT min(id) FROM accounts WHERE email LIKE 'many%') + {NOTIFY_ACCOUNTS - 1}")
    assert len(heard) == NOTIFY_ACCOUNTS and "accounts:*" not in heard


def test_a_statement_that_changes_nothing_says_nothing(app, demo, announced):
    assert announced("UPDATE balances SET available = 0 WHERE false", "DELETE FROM login_sessions WHERE false") == []


def test_rates_are_announced_once_per_transaction(app, demo, announced):
    assert announced("UPDATE rates SET jpy_rate = jpy_rate WHERE currency_code = 'btc'",
                     "UPDATE rates SET jpy_rate = jpy_rate WHERE currency_code = 'eth'") == ["rates:*"]
