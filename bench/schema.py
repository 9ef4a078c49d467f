"""Where the bench's data lives: one PostgreSQL schema per size, migrated by the app's own migrations."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet
from psycopg import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FLASK = str(Path(sys.executable).with_name("flask"))


def base_url() -> str:
    """BENCH_DATABASE_URL without any search_path: the bench adds its own schema."""
    url = make_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"the bench needs PostgreSQL, got {url.get_backend_name()!r}")
    if url.host not in (None, "127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the bench only targets the local machine, got host {url.host!r}")
    return url.render_as_string(hide_password=False)


def check_schema(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name in ("public", "information_schema") or name.startswith("pg_"):
        raise SystemExit(f"not a usable bench schema name: {name!r} (lower-case letters, digits and _; not public)")
    return name


def schema_name(prefix: str, accounts: int) -> str:
    # A schema per size, so the 1.7 M load is done once and kept between runs.
    return check_schema(f"{prefix}_{accounts}")


def exists(name: str) -> bool:
    with connect() as connection:
        return connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone() is not None


def app_url(schema: str) -> str:
    """The DATABASE_URL the dashboard runs with: the bench schema first on the search path."""
    url = make_url(base_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def connect(schema: str | None = None, **kwargs) -> psycopg.Connection:
    """A plain psycopg connection (the loader's COPY needs no ORM), optionally inside schema."""
    url = make_url(base_url())
    params = {"host": url.host or "127.0.0.1", "port": url.port or 5432, "dbname": url.database, "user": url.username}
    if url.password:
        params["password"] = url.password
    if schema:
        params["options"] = f"-csearch_path={schema}"
    return psycopg.connect(**params, **kwargs)


# Fresh for every run: the bench's sessions and sealed API keys mean nothing after it ends.
RUN_SECRETS = {"SECRET_KEY": secrets.token_hex(32), "API_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode()}


def app_config(schema: str) -> dict:
    """create_app's settings for an in-process app on schema, as the served one has them."""
    return {"SQLALCHEMY_DATABASE_URI": app_url(schema), "ENV_NAME": "production", **RUN_SECRETS}


def app_environment(schema: str) -> dict:
    """The dashboard's environment as in production: CSRF on, only sign-in throttled."""
    env = dict(os.environ)
    for name in ("FLASK_DEBUG", "DASHBOARD_HTTPS"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=app_url(schema),
        DASHBOARD_ENV="production",
        **RUN_SECRETS,
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def migrate(schema: str) -> None:
    """Create the schema if needed and bring it to the app's latest migration."""
    with connect(autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    subprocess.run(
        [FLASK, "--app", "dashboard", "db", "upgrade"],
        cwd=REPO,
        env=app_environment(schema),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,
    )


def seed_demo(schema: str) -> None:
    """The app's own demo account and rates (idempotent), next to the loaded accounts."""
    subprocess.run(
        [FLASK, "--app", "dashboard", "seed-demo", "--allow-production"],
        cwd=REPO,
        env=app_environment(schema),
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
