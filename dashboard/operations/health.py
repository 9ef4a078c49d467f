"""Readiness: can this process serve a customer now? One named check per dependency.

Each check answers True or a short fixed reason ("unreachable", "not at head"): never an
exception's text, a host name or a version, which /readyz would show to anyone who asks.
A check that does not apply to this configuration (Redis with in-memory throttling counters, the
change feed on SQLite) is left out rather than reported as passing.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dashboard.extensions import db, failure_counters
from dashboard.language.catalogues import stale_catalogues

log = logging.getLogger(__name__)

HEADS = "dashboard_migration_heads"


def _migration_heads(app: Flask) -> frozenset[str]:
    """The revisions the code expects, read once per app from the migrations it ships."""
    heads = app.extensions.get(HEADS)
    if heads is None:
        directory = app.extensions["migrate"].directory
        config_path = Path(directory) / "alembic.ini"
        from alembic.config import Config

        config = Config(str(config_path))
        config.set_main_option("script_location", str(directory))
        heads = app.extensions[HEADS] = frozenset(ScriptDirectory.from_config(config).get_heads())
    return heads


def database(app: Flask) -> bool | str:
    try:
        with db.engine.connect() as connection:
            current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError as error:
        log.warning("readiness: database check failed: %s", error.__class__.__name__)
        # Reachable but never migrated is the same to a customer: nothing can be served.
        return "unreachable or not migrated"
    return True if current == _migration_heads(app) else "not at head"


def redis(app: Flask) -> bool | str:
    storage = failure_counters.of(app).storage
    return True if storage.check() else "unreachable"


def catalogues(app: Flask) -> bool | str:
    stale = stale_catalogues(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    return True if not stale else "not compiled"


FEED_WAIT_SECONDS = 1.0


def change_feed(app: Flask) -> bool | str:
    feed = app.extensions["dashboard_change_feed"]
    # stamp() starts the feed in this process if it is not running yet (it is per process), so
    # the first probe after a worker starts waits a moment for it to connect.
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while feed.stamp() is None:
        if time.monotonic() >= deadline:
            return "not listening"
        time.sleep(0.02)
    return True


def checks_for(app: Flask) -> dict:
    """The checks that apply to this app's configuration, by name."""
    found = {"database": database}
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis", "rediss")):
        found["redis"] = redis
    found["catalogues"] = catalogues
    if "dashboard_change_feed" in app.extensions:
        found["change_feed"] = change_feed
    return found


def run_checks(app: Flask) -> dict[str, bool | str]:
    results = {}
    for name, check in checks_for(app).items():
        try:
            results[name] = check(app)
        except Exception as error:  # noqa: BLE001 - a check that breaks is a failing check, not a 500
            log.warning("readiness: %s check raised %s", name, error.__class__.__name__)
            results[name] = "error"
    return results
