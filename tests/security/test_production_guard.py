"""Outside development and testing the app refuses to start with unsafe settings, and says why."""
from __future__ import annotations

import pytest

from dashboard import create_app
from dashboard.config import ConfigurationError

STRONG = "9f2c" * 16


@pytest.mark.parametrize(
    "settings, reason",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "dev"}, "known default"),
        ({"SECRET_KEY": "dev-only-insecure-key"}, "known default"),
        ({"SECRET_KEY": "short-but-not-default"}, "too short"),
        ({"SECRET_KEY": STRONG, "DEBUG": True}, "Debug mode is on"),
    ],
)
def test_unsafe_production_settings_are_refused(settings, reason, tmp_path):
    config = {"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3", **settings}
    with pytest.raises(ConfigurationError, match=reason):
        create_app(config)


def test_environment_variables_are_read_and_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="Debug"):
        create_app()
    monkeypatch.setenv("FLASK_DEBUG", "0")
    monkeypatch.setenv("RATE_MAX_AGE_MINUTES", "soon")
    with pytest.raises(ConfigurationError, match="RATE_MAX_AGE_MINUTES"):
        create_app()
    monkeypatch.setenv("RATE_MAX_AGE_MINUTES", "15")
    monkeypatch.delenv("API_KEY_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="API_KEY_ENCRYPTION_KEY"):
        create_app()
    monkeypatch.setenv("API_KEY_ENCRYPTION_KEY", "bWFrZS1hLXJlYWwtb25lLXdpdGgtRmVybmV0LWtleXM=")
    app = create_app()
    assert app.config["SECRET_KEY"] == STRONG


def test_development_may_use_the_built_in_key(tmp_path):
    app = create_app({"ENV_NAME": "development", "SECRET_KEY": "", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert app.config["SECRET_KEY"]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Asia/Tokyo "])
def test_a_display_zone_that_does_not_exist_stops_the_start(zone, tmp_path, monkeypatch):
    monkeypatch.setenv("DISPLAY_TIMEZONE", zone)
    with pytest.raises(ConfigurationError, match="DISPLAY_TIMEZONE"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


@pytest.mark.parametrize("zone", ["Asia/Tokyo\x00", None, 9])
def test_a_display_zone_of_the_wrong_kind_stops_the_start(zone, tmp_path):
    with pytest.raises(ConfigurationError, match="DISPLAY_TIMEZONE"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3", "BABEL_DEFAULT_TIMEZONE": zone})


@pytest.mark.parametrize("name", ["READ_CACHE_SECONDS", "READ_CACHE_SESSIONS", "READ_CACHE_WALLETS"])
@pytest.mark.parametrize("value", ["soon", "-1", "1e3", "60s", "６０", "6_0", " 60"])
def test_read_cache_settings_must_be_whole_numbers(name, value, tmp_path, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
