"""compose.yaml and .env.example as an operator uses them: the services, their order, their
hardening, and an example env file with every secret left empty."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OURS = ("migrate", "app", "stream", "ticker")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "app", "stream", "ticker"}


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_stores_have_health_checks_and_volumes(compose, name):
    service = compose["services"][name]
    assert service["healthcheck"]["test"]
    [volume] = service["volumes"]
    assert volume.split(":")[0] in compose["volumes"]


def test_migrations_run_once_before_the_app_and_the_ticker(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["flask", "--app", "dashboard", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("app", "stream", "ticker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"
    command = services["ticker"]["command"]
    assert command[:5] == ["flask", "--app", "dashboard", "rates", "refresh"] and "--every" in command


@pytest.mark.parametrize("name", OURS)
def test_our_services_are_hardened(compose, name):
    service = compose["services"][name]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert any(option.replace(":true", "") == "no-new-privileges" for option in service["security_opt"])
    assert service["env_file"] == ".env"
    assert all(mount.startswith("/tmp") for mount in service["tmpfs"])
    environment = service["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
    assert environment["PROMETHEUS_MULTIPROC_DIR"]


def test_the_app_the_ticker_and_the_stream_processes_share_the_metric_files(compose):
    services = compose["services"]
    assert services["app"]["volumes"] == ["metrics:/run/metrics"] == services["ticker"]["volumes"] == services["stream"]["volumes"]
    assert services["app"]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/run/metrics"
    # The subdirectories /metrics adds in, which gunicorn does not empty at start.
    from dashboard.operations.views import COMMANDS_SUBDIR, STREAMS_SUBDIR

    assert services["ticker"]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == f"/run/metrics/{COMMANDS_SUBDIR}"
    assert services["stream"]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == f"/run/metrics/{STREAMS_SUBDIR}"
    # The image makes them, owned by the app's user (a named volume starts as the image has it).
    assert f"/run/metrics/{COMMANDS_SUBDIR} /run/metrics/{STREAMS_SUBDIR}" in (ROOT / "Containerfile").read_text()
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]


def test_the_stream_process_serves_the_live_wallet_beside_the_app(compose):
    stream = compose["services"]["stream"]
    command = stream["command"]
    assert command[:3] == ["uvicorn", "--factory", "dashboard.stream:create_stream_app"]
    port = command[command.index("--port") + 1]
    assert stream["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f":{port}/stream/healthz" in " ".join(stream["healthcheck"]["test"])
    # The image has what it runs.
    from dashboard.stream import create_stream_app  # noqa: F401

    assert "uvicorn" in (ROOT / "setup.cfg").read_text()


def test_the_example_env_file_holds_no_secret_and_only_known_settings():
    example = (ROOT / ".env.example").read_text()
    settings = dict(re.findall(r"^([A-Z_]+)=(.*)$", example, flags=re.MULTILINE))
    for secret in ("POSTGRES_PASSWORD", "SECRET_KEY", "API_KEY_ENCRYPTION_KEY", "METRICS_TOKEN", "SECRET_KEY_FALLBACKS"):
        assert settings[secret] == "", secret
    known = (ROOT / "dashboard" / "config.py").read_text() + (ROOT / "gunicorn.conf.py").read_text() \
        + (ROOT / "compose.yaml").read_text()
    for name in settings:
        assert re.search(rf'"{name}"|\${{{name}\b|{name}', known), name
    # gunicorn reads these itself.
    assert {"WEB_CONCURRENCY"} <= set(settings)


def test_the_env_file_itself_is_never_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".env" in (ROOT / ".containerignore").read_text().splitlines()
