"""Fixtures in the manner of the Flask tutorial: app, client, runner, a signed-in client, and a
database parametrised over SQLite and PostgreSQL (TEST_DATABASE_URL)."""
from __future__ import annotations

import os
import re
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dashboard import create_app
from dashboard.extensions import db

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql")


def missing(reason: str):
    """A missing service is a visible skip on a developer's machine and a failure in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)


def postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        missing("TEST_DATABASE_URL is not set: the PostgreSQL half of the suite needs it")
    return url


def with_search_path(url: str, schema: str) -> str:
    return str(make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """One migrated database per backend for the whole run: a SQLite file, and a PostgreSQL
    schema of its own so concurrent runs never see each other's rows."""
    created: dict[str, str] = {}
    cleanups = []

    def get(backend: str) -> str:
        if backend in created:
            return created[backend]
        if backend == "sqlite":
            url = "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")
        else:
            base = postgres_url()
            schema = "test_" + re.sub(r"\W", "_", os.environ.get("PYTEST_XDIST_WORKER", "main")) + "_" + uuid.uuid4().hex[:10]
            engine = create_engine(base)
            try:
                with engine.begin() as connection:
                    connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            except Exception as error:  # noqa: BLE001 - reported as a skip or CI failure
                missing(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {error.__class__.__name__}")

            def drop(engine=engine, schema=schema):
                with engine.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                engine.dispose()

            cleanups.append(drop)
            url = with_search_path(base, schema)
        migrate_to_head(url)
        created[backend] = url
        return url

    yield get
    for cleanup in cleanups:
        cleanup()


def dispose_engines() -> None:
    """Close every pooled connection of the current app: its main engine and its reads engine."""
    for engine in db.engines.values():
        engine.dispose()


def migrate_to_head(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        dispose_engines()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def make_app(url: str, **extra):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BABEL_DEFAULT_LOCALE": "en",
        "SERVER_NAME": None,
        # One round of PBKDF2 instead of scrypt: thousands of sign-ins, not a fifth of a second each
        # (tests/accounts/test_password_hashing.py checks that a real app hashes with scrypt).
        "TEST_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
    }
    config.update(extra)
    return create_app(config)


def empty_tables(app) -> None:
    """Every table, children first, but the 14 reference currencies the first migration seeds.
    The append-only journal refuses DELETE by trigger. On PostgreSQL a superuser's session
    turns triggers off for the transaction (session_replication_role = replica: cheaper than
    TRUNCATE, which the trigger does not block either and is the fallback); SQLite's triggers
    are set aside while the rows go, then put back as they were."""
    from dashboard.core.currencies import CURRENCIES

    seeded = [code for code, _name, _decimals in CURRENCIES]
    with app.app_context():
        with db.engine.begin() as connection:
            others = [table for table in reversed(db.metadata.sorted_tables) if table.name != "currencies"]
            triggers = []
            if connection.dialect.name == "postgresql":
                if connection.exec_driver_sql("SHOW is_superuser").scalar() == "on":
                    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    for table in others:
                        connection.execute(table.delete())
                else:
                    connection.exec_driver_sql("TRUNCATE " + ", ".join(f'"{table.name}"' for table in others))
            else:
                triggers = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
                for name, _sql in triggers:
                    connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
                for table in others:
                    connection.execute(table.delete())
            for _name, sql in triggers:
                connection.exec_driver_sql(sql)
            currencies = db.metadata.tables["currencies"]
            connection.execute(currencies.delete().where(currencies.c.code.not_in(seeded)))
            connection.execute(currencies.update().values(enabled=True))
        dispose_engines()


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(backend, database_urls, app_config):
    app = make_app(database_urls(backend), **app_config)
    empty_tables(app)
    yield app
    with app.app_context():
        db.session.remove()
        dispose_engines()


@pytest.fixture
def live_server(app):
    """The app served on 127.0.0.1 from a thread, for a real browser or a real API client."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo account, balances and rates, as `flask seed-demo` makes them."""
    from dashboard.ledger.demo import seed_demo

    with app.app_context():
        seed_demo()


def sign_in(client, email="demo@example.com", password="demopass"):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response


def csrf_token_in(html: str) -> str:
    """The CSRF token a page carries: its <meta name="csrf-token"> (every page has one)."""
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in_with_csrf(client, email="demo@example.com", password="demopass") -> str:
    """Sign in as a browser does when CSRF protection is on; returns the signed-in page's token."""
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.data[:500]
    return csrf_token_in(client.get("/").get_data(as_text=True))


@pytest.fixture
def signed_in(client, demo):
    sign_in(client)
    return client
