"""/healthz and /readyz: 200 when every check passes, 503 naming the failing one (database
gone, Redis gone, change feed down), and never a cookie, a session or a throttle."""
from __future__ import annotations

import os
import socket

import pytest
from conftest import make_app, missing
from sqlalchemy.engine import make_url
from tests_support import TcpProxy, wait_until


def closed_port() -> int:
    """A port in this project's range (8100-8199) with nothing listening on it."""
    for port in range(8190, 8200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no closed port in 8190-8199")


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        missing("TEST_REDIS_URL is not set: the readiness check of Redis needs it")
    return url


def check_names(response) -> dict:
    return response.get_json()["checks"]


def test_healthz_answers_without_touching_anything(tmp_path):
    # A database that cannot even be opened: liveness still answers.
    app = make_app("sqlite:///" + str(tmp_path / "missing-dir" / "db.sqlite3"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_passes_on_a_migrated_database(client, backend):
    # A worker's feed connects on first use: ready within a moment, not necessarily at once.
    wait_until(lambda: client.get("/readyz").status_code == 200, "ready")
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    checks = check_names(response)
    assert checks["database"] == {"ok": True} and checks["catalogues"] == {"ok": True}
    assert response.get_json()["status"] == "ready"
    # The feed is per process and PostgreSQL only; SQLite has none to report.
    assert ("change_feed" in checks) == (backend == "postgresql")


def test_readyz_names_the_database_when_the_sqlite_file_is_gone(tmp_path):
    app = make_app("sqlite:///" + str(tmp_path / "missing-dir" / "db.sqlite3"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert check_names(response)["database"] == {"ok": False, "reason": "unreachable or not migrated"}
    assert response.get_json()["status"] == "not ready"
    # No driver message, file name or host reaches an outsider.
    assert "missing-dir" not in response.get_data(as_text=True)


def test_readyz_names_a_database_that_is_not_migrated(tmp_path):
    app = make_app("sqlite:///" + str(tmp_path / "empty.sqlite3"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and check_names(response)["database"]["ok"] is False


def test_readyz_names_a_database_behind_its_head(tmp_path):
    from flask_migrate import downgrade, upgrade

    url = "sqlite:///" + str(tmp_path / "behind.sqlite3")
    app = make_app(url)
    with app.app_context():
        upgrade()
        downgrade(revision="-1")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert check_names(response)["database"] == {"ok": False, "reason": "not at head"}


def test_readyz_names_the_database_and_the_feed_when_postgresql_goes(database_urls):
    url = database_urls("postgresql")
    real = make_url(url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    proxy.start()
    app = make_app(url.replace(f":{real.port or 5432}/", f":{proxy.port}/"), READ_CACHE_SECONDS=60)
    client = app.test_client()
    wait_until(lambda: client.get("/readyz").status_code == 200, "ready through the proxy")
    assert check_names(client.get("/readyz"))["change_feed"] == {"ok": True}

    proxy.stop()  # the database goes away: connections cut, new ones refused
    assert check_names(client.get("/readyz"))["database"]["ok"] is False  # at once
    # The feed's thread notices its cut connection on its own (within its heartbeat).
    wait_until(lambda: check_names(client.get("/readyz"))["change_feed"]["ok"] is False, "the feed down")
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = check_names(response)
    assert checks["database"]["ok"] is False
    assert checks["change_feed"] == {"ok": False, "reason": "not listening"}
    assert checks["catalogues"] == {"ok": True}
    assert client.get("/healthz").status_code == 200  # alive all the same: not a restart

    proxy.start()  # back: ready again without a restart, the feed reconnected
    wait_until(lambda: client.get("/readyz").status_code == 200, "ready again")
    proxy.stop()


def test_readyz_names_the_feed_alone_when_only_it_is_down(database_urls, monkeypatch):
    app = make_app(database_urls("postgresql"), READ_CACHE_SECONDS=60)
    feed = app.extensions["dashboard_change_feed"]
    client = app.test_client()
    wait_until(lambda: client.get("/readyz").status_code == 200, "the feed listening")
    # As the feed's thread leaves it between losing its connection and the next attempt.
    monkeypatch.setattr(feed, "listening", False)
    monkeypatch.setattr(feed, "_ensure_running", lambda: None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert check_names(response) == {"database": {"ok": True}, "catalogues": {"ok": True},
                                     "change_feed": {"ok": False, "reason": "not listening"}}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_readyz_checks_redis_where_configured(app_config, database_urls, backend):
    up = make_app(database_urls(backend), RATELIMIT_STORAGE_URI=redis_url())
    response = up.test_client().get("/readyz")
    assert response.status_code == 200 and check_names(response)["redis"] == {"ok": True}

    down = make_app(database_urls(backend), RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0")
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert check_names(response)["redis"] == {"ok": False, "reason": "unreachable"}
    assert check_names(response)["database"] == {"ok": True}


def test_readyz_without_redis_configured_has_no_redis_check(client):
    assert "redis" not in check_names(client.get("/readyz"))


def test_readyz_names_uncompiled_catalogues(database_urls, tmp_path):
    import shutil

    from dashboard.language.i18n import TRANSLATIONS_DIR

    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, copy)
    app = make_app(database_urls("sqlite"), BABEL_TRANSLATION_DIRECTORIES=str(copy))
    for mo_file in copy.glob("*/LC_MESSAGES/messages.mo"):
        mo_file.unlink()  # after start-up, which refuses to start without them
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert check_names(response)["catalogues"] == {"ok": False, "reason": "not compiled"}


SIGNED_IN_AND_PROMPTED = {"Accept-Language": "ja"}  # the prompt's language differs from the page's (en)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_answers_set_no_cookie_even_for_a_signed_in_visitor(client, demo, path):
    from conftest import sign_in

    sign_in(client)
    client.set_cookie("lang_prompt", "no")
    response = client.get(path, headers=SIGNED_IN_AND_PROMPTED)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    # The security headers every answer carries, and never kept by a cache.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_answers_set_no_cookie_for_a_stranger_with_csrf_on(database_urls, path):
    app = make_app(database_urls("sqlite"), WTF_CSRF_ENABLED=True)
    response = app.test_client().get(path, headers={"Accept-Language": "ja"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_health_is_never_throttled(database_urls):
    app = make_app(database_urls("sqlite"), RATELIMIT_ENABLED=True, LOGIN_LIMIT="1 per minute")
    client = app.test_client()
    assert all(client.get("/readyz").status_code == 200 for _ in range(30))


def test_readiness_is_not_given_by_post(client):
    assert client.post("/readyz").status_code == 405
