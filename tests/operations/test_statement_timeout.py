"""DATABASE_STATEMENT_TIMEOUT_MS: on PostgreSQL every connection of the app starts with it
(`-c statement_timeout=…`, after the URL's own options), a request's statement stalled past it
answers 503 with Retry-After and writes nothing, and operator commands are not bounded by it.
The drill under gunicorn is tests/drills/test_stalls.py."""
from __future__ import annotations

import threading

import pytest
from conftest import sign_in
from sqlalchemy import select, text

from dashboard import config
from dashboard.database import statement_timeout_connect_args
from dashboard.extensions import READS_BIND, db
from dashboard.models import Account


def test_the_setting_is_read_as_a_whole_number_of_milliseconds(monkeypatch):
    monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT_MS", raising=False)
    assert config.from_environment()["DATABASE_STATEMENT_TIMEOUT_MS"] == 5000
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    assert config.from_environment()["DATABASE_STATEMENT_TIMEOUT_MS"] == 0
    for wrong in ("5s", "-1", "1.5", "５０００"):
        monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", wrong)
        with pytest.raises(config.ConfigurationError, match="DATABASE_STATEMENT_TIMEOUT_MS"):
            config.from_environment()


@pytest.mark.parametrize("url, given, expected", [
    ("postgresql+psycopg://u@h/db", {}, "-c statement_timeout=2000"),
    # The URL's options (the tests' search_path) are kept: connect_args' would replace them.
    ("postgresql+psycopg://u@h/db?options=-csearch_path%3Dschema_1", {}, "-csearch_path=schema_1 -c statement_timeout=2000"),
    ("postgresql+psycopg://u@h/db?options=-csearch_path%3Dx", {"options": "-c work_mem=8MB"}, "-c work_mem=8MB -c statement_timeout=2000"),
])
def test_the_timeout_joins_the_connections_options(url, given, expected):
    assert statement_timeout_connect_args(url, {"connect_timeout": 5, **given}, 2000) == \
        {"connect_timeout": 5, "options": expected}


def test_zero_leaves_the_connection_alone():
    assert statement_timeout_connect_args("postgresql+psycopg://u@h/db", {"connect_timeout": 5}, 0) == {"connect_timeout": 5}


@pytest.fixture
def app_config():
    return {"DATABASE_STATEMENT_TIMEOUT_MS": 700}


@pytest.mark.parametrize("backend", ["postgresql"])
def test_requests_are_bounded_and_commands_are_not(app, runner, monkeypatch):
    with app.test_request_context():
        assert db.session.execute(text("SHOW statement_timeout")).scalar_one() == "700ms"
        with db.engines[READS_BIND].connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "700ms"
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    seen = []

    def verify(*_anchors):
        seen.append(db.session.execute(text("SHOW statement_timeout")).scalar_one())
        return 0, 0, []

    import dashboard.cli.balances

    monkeypatch.setattr(dashboard.cli.balances, "verify", verify)
    result = runner.invoke(args=["balances", "verify"])
    assert result.exit_code == 0, result.output
    assert seen == ["0"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_statement_stalled_by_a_lock_answers_503_and_writes_nothing(app, client, demo):
    sign_in(client)
    with app.app_context():
        before = db.session.execute(select(Account.discreet, Account.hide_zero_balances)).one()
        db.session.remove()
        with db.engine.connect() as holder:
            holder.execute(text("SET statement_timeout = 0"))
            holder.execute(select(Account.id).with_for_update())  # held until this block ends
            answers = []
            thread = threading.Thread(target=lambda: answers.append(client.post(
                "/api/preferences", json={"discreet": not before[0], "hide_zero_balances": not before[1]})))
            thread.start()
            thread.join(30)
            holder.rollback()
        response = answers[0]
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["success"] is False
        assert db.session.execute(select(Account.discreet, Account.hide_zero_balances)).one() == before
        db.session.remove()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("app_config", [{"DATABASE_STATEMENT_TIMEOUT_MS": 700, "DATABASE_PGBOUNCER": True}])
def test_behind_pgbouncer_commands_set_nothing_that_would_outlive_them(app, runner, monkeypatch):
    """PgBouncer in transaction mode would hand a server connection a command had SET
    statement_timeout = 0 on to the app's requests next: the role's timeout is left alone."""
    seen = []

    def verify(*_anchors):
        # Where the connection's setting came from: "session" had the command SET it.
        seen.append(db.session.execute(text("SELECT source FROM pg_settings WHERE name = 'statement_timeout'")).scalar_one())
        return 0, 0, []

    import dashboard.cli.balances

    monkeypatch.setattr(dashboard.cli.balances, "verify", verify)
    result = runner.invoke(args=["balances", "verify"])
    assert result.exit_code == 0, result.output
    assert seen == ["default"]
