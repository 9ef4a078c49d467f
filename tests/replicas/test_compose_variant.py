"""compose.replicas.yaml, laid over compose.yaml: a primary, its streaming replica and PgBouncer,
with the app's settings pointing each connection where it must go. Checked as a file (no
container runtime here): the services, their order, and the URLs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def variant() -> dict:
    return yaml.safe_load((ROOT / "compose.replicas.yaml").read_text())


def test_it_adds_a_replica_and_pgbouncer_to_the_base_services(base, variant):
    assert set(variant["services"]) - set(base["services"]) == {"postgres-replica", "pgbouncer"}
    assert set(variant["volumes"]) == {"postgres-replica-data"}


def test_the_replica_copies_the_primary_once_it_is_healthy_and_streams_from_it(variant):
    replica = variant["services"]["postgres-replica"]
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["healthcheck"]["test"]
    mounts = dict(mount.split(":")[:2][::-1] for mount in replica["volumes"])
    script = ROOT / mounts[replica["entrypoint"][-1]].removeprefix("./")
    text = script.read_text()
    assert "pg_basebackup" in text and "--write-recovery-conf" in text and "--host=postgres" in text
    assert re.search(r"exec postgres\b.*hot_standby=on", text)
    primary_mounts = variant["services"]["postgres"]["volumes"]
    init = next(mount for mount in primary_mounts if "docker-entrypoint-initdb.d" in mount)
    assert "host replication" in (ROOT / init.split(":")[0].removeprefix("./")).read_text()


def test_pgbouncer_pools_in_transaction_mode_in_front_of_the_primary(variant):
    bouncer = variant["services"]["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction" and bouncer["DB_HOST"] == "postgres"
    assert variant["services"]["pgbouncer"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_each_connection_of_the_app_goes_where_it_must(variant):
    app = variant["services"]["app"]["environment"]
    assert "@pgbouncer:6432/" in app["DATABASE_URL"] and app["DATABASE_PGBOUNCER"] == "1"
    assert "@postgres:5432/" in app["DATABASE_LISTEN_URL"]  # LISTEN bypasses the transaction pool
    assert [url.split("@")[1] for url in app["DATABASE_REPLICA_URLS"].split(",")] == ["postgres-replica:5432/dashboard"]
    assert "@postgres:5432/" in variant["services"]["migrate"]["environment"]["DATABASE_URL"]  # DDL to the primary
    ticker = variant["services"]["ticker"]["environment"]
    assert "@pgbouncer:6432/" in ticker["DATABASE_URL"] and ticker["DATABASE_PGBOUNCER"] == "1"
    for name in ("pgbouncer", "postgres-replica"):
        assert variant["services"]["app"]["depends_on"][name]["condition"] == "service_healthy"


def test_every_setting_it_gives_the_app_is_one_the_app_reads(variant):
    config = (ROOT / "dashboard" / "config.py").read_text()
    for service in ("app", "ticker", "migrate"):
        for name in variant["services"][service]["environment"]:
            assert f'"{name}"' in config, name


def test_the_overrides_keep_the_base_services_hardening(base, variant):
    for name in ("app", "ticker", "migrate"):
        assert not {"read_only", "cap_drop", "security_opt", "user"} & set(variant["services"][name]), name
        assert base["services"][name]["read_only"] is True
