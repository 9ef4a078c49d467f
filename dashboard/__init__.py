"""Wallet balance dashboard: the application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from dashboard import config as config_module
from dashboard import database  # registers the SQLite pragmas too
from dashboard.extensions import READS_BIND, REPLICA_BIND_PREFIX, csrf, db, failure_counters, login, migrate

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Templates, static files and migrations live at the top of a checkout and inside the
    package once installed (setup.cfg maps them there), so look in both places."""
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
        instance_relative_config=True,
    )
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    if app.config.get("TESTING") or app.config["ENV_NAME"] == "development":
        app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or config_module.DEV_SECRET_KEY
    config_module.check_production_safety(app.config)
    config_module.check_display_zone(app.config)
    config_module.check_browser_language(app.config)
    config_module.check_limits(app.config)
    config_module.check_operations(app.config)
    # Innermost, so that it sees the request as ProxyFix (if any) hands it to Flask.
    from dashboard.wallet.unchanged_refresh import NotModifiedBeforeFlask

    app.wsgi_app = NotModifiedBeforeFlask(app, app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=app.config["TRUSTED_PROXIES"])
    _configure_database(app)
    config_module.check_replicas(app.config)

    db.init_app(app)
    with app.app_context():
        database.unbounded_for_commands(app, db.engines.values())
    migrate.init_app(app, db, directory=str(resource_dir("migrations")), render_as_batch=True)
    csrf.init_app(app)
    failure_counters.init_app(app)
    login.init_app(app)

    from dashboard import brand, security
    from dashboard.language import i18n, sign_in
    from dashboard.read_path import read_cache, session_cookie, signed_in

    signed_in.init_app(app)
    session_cookie.init_app(app)
    with app.app_context():
        read_cache.init_app(app, db.engine, {name: db.engines[name] for name in replica_binds(app)})
    i18n.init_app(app)
    sign_in.init_app(app)
    security.init_app(app)
    brand.init_app(app)

    from dashboard.accounts.security_page import bp as security_bp
    from dashboard.accounts.views import bp as auth_bp
    from dashboard.activity.views import bp as activity_bp
    from dashboard.api_description.views import bp as api_description_bp
    from dashboard.exchange_api.keys_page import bp as api_keys_bp
    from dashboard.exchange_api.views import bp as exchange_api_bp
    from dashboard.gains.views import bp as gains_bp
    from dashboard.language.views import bp as language_bp
    from dashboard.wallet.api import bp as api_bp
    from dashboard.wallet.views import bp as wallet_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(security_bp)
    app.register_blueprint(wallet_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(language_bp)
    app.register_blueprint(api_keys_bp)
    app.register_blueprint(exchange_api_bp)
    app.register_blueprint(api_description_bp)
    app.register_blueprint(activity_bp)
    app.register_blueprint(gains_bp)

    from dashboard import errors
    from dashboard.cli import register_commands
    from dashboard.wallet import filters, icons

    errors.init_app(app)
    filters.init_app(app)
    icons.init_app(app)
    register_commands(app)

    from dashboard import operations

    operations.init_app(app)
    return app


def _configure_database(app: Flask) -> None:
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "dashboard.sqlite3")
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # A connection the server dropped (restart, failover, idle timeout) is replaced
    # before use instead of failing the request that happens to draw it.
    options.setdefault("pool_pre_ping", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        connect_args = dict(options.get("connect_args") or {"connect_timeout": 5})
        if app.config.get("DATABASE_PGBOUNCER"):
            # PgBouncer in transaction mode hands each transaction to any server connection,
            # where a statement psycopg prepared on another is unknown: never prepare. Nor can it
            # pass a connection's startup options on: the statement timeout is then the role's
            # (ALTER ROLE … SET statement_timeout, docs/operations.md).
            options["connect_args"] = {**connect_args, "prepare_threshold": None}
        else:
            options["connect_args"] = database.statement_timeout_connect_args(
                app.config["SQLALCHEMY_DATABASE_URI"], connect_args, app.config["DATABASE_STATEMENT_TIMEOUT_MS"])
    # A second pool on the same database for the signed-in request's reads (signed_in.py),
    # in autocommit mode for good: no BEGIN/ROLLBACK round trips, and no switching a pooled
    # connection's mode on every checkout (which cost as much as the query it saved).
    # Flask-SQLAlchemy gives a bind none of SQLALCHEMY_ENGINE_OPTIONS: without them this pool,
    # which every signed-in request uses first, had no pre-ping, no connect timeout and no
    # statement timeout.
    binds = app.config.setdefault("SQLALCHEMY_BINDS", {})
    binds.setdefault(READS_BIND, {**options, "url": app.config["SQLALCHEMY_DATABASE_URI"], "isolation_level": "AUTOCOMMIT"})
    # One pool per replica (read_path/replicas.py), autocommit as the reads' own and, like it,
    # without a ping on every checkout (a round trip per request): a connection the replica
    # dropped fails its read, which the primary then answers, and the pool is emptied. A replica
    # that does not answer within 2 seconds is left alone for a while rather than holding requests.
    # The statement timeout is the replica's own URL's, as the primary's is (a replica's URL
    # keeps its own options, a search_path say).
    replica_args = {"connect_timeout": 2}
    if app.config.get("DATABASE_PGBOUNCER"):
        replica_args["prepare_threshold"] = None
    for number, url in enumerate(app.config.get("DATABASE_REPLICA_URLS") or ()):
        connect_args = replica_args if app.config.get("DATABASE_PGBOUNCER") else database.statement_timeout_connect_args(
            url, replica_args, app.config["DATABASE_STATEMENT_TIMEOUT_MS"])
        binds.setdefault(f"{REPLICA_BIND_PREFIX}{number + 1}", {
            "url": url, "isolation_level": "AUTOCOMMIT", "connect_args": connect_args})


def replica_binds(app: Flask) -> list[str]:
    return [name for name in app.config.get("SQLALCHEMY_BINDS", {}) if name.startswith(REPLICA_BIND_PREFIX)]
