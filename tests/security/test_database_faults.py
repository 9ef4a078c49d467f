"""With the database gone the app answers 503 (a translated page, a JSON body for the API) and
recovers by itself when it comes back; connections the server drops are replaced."""
from __future__ import annotations

import uuid

import pytest
from conftest import make_app, postgres_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests_support import TcpProxy, reset_and_seed


def signed_in_cookie(app) -> str:
    client = app.test_client()
    response = client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    assert response.status_code == 302
    return client.get_cookie("session").value


def check_unavailable(client):
    # The page's language is the visitor's choice (the lang cookie), the page's and the API's alike.
    client.set_cookie("lang", "ja")
    page = client.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "ただいまサービスを一時的にご利用いただけません" in page.get_data(as_text=True)
    client.set_cookie("lang", "en")
    api = client.get("/api/balance")
    assert api.status_code == 503 and api.is_json
    assert api.get_json() == {"success": False, "error": "The service is temporarily unavailable. Please try again in a moment."}


@pytest.fixture
def postgres_schema_url(database_urls):
    return database_urls("postgresql")


def test_refused_connections_give_503_then_recovery_without_restart(postgres_schema_url):
    real = make_url(postgres_schema_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    proxy.start()
    app = make_app(postgres_schema_url.replace(f":{real.port or 5432}/", f":{proxy.port}/"))
    reset_and_seed(app)
    client = app.test_client()
    client.set_cookie("session", signed_in_cookie(app))
    assert client.get("/").status_code == 200

    proxy.stop()           # the database goes away: existing connections cut, new ones refused
    check_unavailable(client)
    check_unavailable(client)  # and keeps answering, never a 500

    proxy.start()          # it comes back: the same app object serves again
    assert client.get("/").status_code == 200
    assert client.get("/api/balance").status_code == 200
    proxy.stop()


def test_a_url_that_refuses_connections(postgres_schema_url):
    working = make_app(postgres_schema_url)
    reset_and_seed(working)
    cookie = signed_in_cookie(working)
    refused = make_url(postgres_schema_url).set(port=1)  # nothing listens on port 1
    app = make_app(refused.render_as_string(hide_password=False))
    client = app.test_client()
    client.set_cookie("session", cookie)
    check_unavailable(client)
    assert app.test_client().get("/login").status_code == 200  # a page that needs no data still works


def test_backends_terminated_by_the_server_are_replaced(postgres_schema_url):
    name = "dashboard-test-" + uuid.uuid4().hex[:8]
    app = make_app(postgres_schema_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"application_name": name}})
    reset_and_seed(app)
    client = app.test_client()
    client.set_cookie("session", signed_in_cookie(app))
    assert client.get("/api/balance").status_code == 200
    admin = create_engine(postgres_url())
    with admin.begin() as connection:
        killed = connection.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"), {"n": name}
        ).scalar_one()
    admin.dispose()
    assert killed >= 1
    for _ in range(3):
        assert client.get("/api/balance").status_code == 200
        assert client.get("/").status_code == 200


def test_sqlite_file_that_cannot_be_opened(tmp_path, database_urls):
    working = make_app(database_urls("sqlite"))
    reset_and_seed(working)
    cookie = signed_in_cookie(working)
    app = make_app("sqlite:///" + str(tmp_path / "missing-dir" / "db.sqlite3"))
    client = app.test_client()
    client.set_cookie("session", cookie)
    check_unavailable(client)
