"""One log line per request and per operator command, with the request id the response carries,
in JSON or text; and no password, token, cookie, email or amount in any of them."""
from __future__ import annotations

import json
import logging

import pytest
from conftest import make_app, sign_in

from dashboard.operations.logs import JsonFormatter, TextFormatter

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demopass"


def request_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "dashboard.requests"]


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="dashboard")
    return caplog


def test_one_line_per_request_with_the_response_request_id(client, logs):
    response = client.get("/healthz", buffered=True)
    rid = response.headers["X-Request-ID"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    [record] = request_lines(logs)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == rid
    assert line["method"] == "GET" and line["route"] == "/healthz" and line["status"] == 200
    assert line["level"] == "info" and line["time"].endswith("Z") and 0 <= line["duration_seconds"] < 5
    assert line["message"] == "request"


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/healthz", buffered=True).headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_route_is_the_template_never_the_path(client, demo, logs):
    sign_in(client)
    client.get("/api/history?range=1d", buffered=True)
    client.get("/no/such/page/demo@example.com", buffered=True)
    routes = [record.route for record in request_lines(logs)]
    assert "/api/history" in routes and "(unmatched)" in routes
    assert not any("demo@example.com" in route or "range" in route for route in routes)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_proxy_request_id_is_taken_only_behind_a_trusted_proxy(database_urls, backend):
    behind = make_app(database_urls(backend), TRUSTED_PROXIES=1).test_client()
    exposed = make_app(database_urls(backend)).test_client()
    sent = "3f1c2a9e-0b7d-4c55-9a57-5b8f7f6c2d11"
    assert behind.get("/healthz", headers={"X-Request-ID": sent}, buffered=True).headers["X-Request-ID"] == sent
    # Without a trusted proxy anyone could choose the id that lands in the logs.
    assert exposed.get("/healthz", headers={"X-Request-ID": sent}, buffered=True).headers["X-Request-ID"] != sent
    # Behind one, a malformed id (spaces, quotes, too long, a log injection) is replaced.
    for bad in ("a b", 'x"y', "z" * 129, "ok\tfake", "", "-leading-dash", "ａｂｃ"):
        got = behind.get("/healthz", headers={"X-Request-ID": bad}, buffered=True).headers["X-Request-ID"]
        assert got != bad and len(got) == 32


def test_an_unknown_method_is_one_label(client, logs):
    client.open("/healthz", method="BREW", buffered=True)
    assert request_lines(logs)[-1].method == "OTHER"


def test_text_format_is_readable():
    record = logging.LogRecord("dashboard.requests", logging.INFO, __file__, 1, "request", None, None)
    record.request_id, record.method, record.route, record.status = "abc", "GET", "/healthz", 200
    text = TextFormatter().format(record)
    assert "[abc]" in text and "route=/healthz" in text and "status=200" in text and text.count("\n") == 0


def test_log_format_setting(monkeypatch, database_urls):
    from dashboard.config import ConfigurationError, from_environment

    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.delenv("DASHBOARD_ENV", raising=False)
    assert from_environment()["LOG_FORMAT"] == "json"
    monkeypatch.setenv("DASHBOARD_ENV", "development")
    assert from_environment()["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert from_environment()["LOG_FORMAT"] == "json"
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        make_app(database_urls("sqlite"), LOG_FORMAT="yaml")


def test_nothing_secret_or_personal_is_logged(client, demo, logs, app):
    """The demo's email, password, session cookie, API key secret and amounts appear in no line."""
    logs.set_level(logging.DEBUG, logger="dashboard")
    client.post("/login", data={"email": DEMO_EMAIL, "password": "wrong-" + DEMO_PASSWORD}, buffered=True)
    sign_in(client)
    cookie = client.get_cookie("session").value
    balance = client.get("/api/balance", buffered=True).get_json()
    client.get("/", buffered=True)
    client.get("/api/activity", buffered=True)
    client.post("/api/preferences", json={"show_in_header": False}, buffered=True)
    with app.app_context():
        runner = app.test_cli_runner()
        result = runner.invoke(args=["balances", "set", DEMO_EMAIL, "btc", "--available", "1.23456789"])
        assert result.exit_code == 0, result.output

    amounts = {row[field] for row in balance["balances"] for field in ("available", "in_use", "total_jpy")
               if row[field] not in (None, "0")}
    amounts |= {balance["net_assets"]["jpy"], balance["net_assets"]["formatted"], "1.23456789"}
    # Long enough not to occur by chance inside a request id or a duration.
    amounts = {amount for amount in amounts if len(amount) >= 6}
    assert len(amounts) >= 4
    text = "\n".join(JsonFormatter().format(record) for record in logs.records)
    assert "request" in text and "command" in text  # there is something to search
    for secret in (DEMO_EMAIL, DEMO_PASSWORD, cookie, *amounts):
        assert secret not in text, secret


def test_an_operator_command_logs_one_line(runner, demo, logs):
    result = runner.invoke(args=["rates", "list"])
    assert result.exit_code == 0, result.output
    [record] = [record for record in logs.records if record.name == "dashboard.commands"]
    line = json.loads(JsonFormatter().format(record))
    assert line["command"] == "rates list" and line["exit_code"] == 0 and len(line["request_id"]) == 32


def test_a_failing_command_logs_its_exit_code_and_not_its_arguments(runner, demo, logs):
    result = runner.invoke(args=["balances", "set", "nobody@example.com", "btc", "--available", "7.5"])
    assert result.exit_code != 0
    [record] = [record for record in logs.records if record.name == "dashboard.commands"]
    line = JsonFormatter().format(record)
    assert json.loads(line)["exit_code"] == result.exit_code and json.loads(line)["level"] == "warning"
    assert "nobody@example.com" not in line and "7.5" not in line


def test_a_production_app_logs_json_to_stderr_and_a_test_app_gives_logging_back(database_urls, capsys, monkeypatch):
    monkeypatch.setenv("DASHBOARD_ENV", "production")
    production = __import__("dashboard").create_app({
        "SQLALCHEMY_DATABASE_URI": database_urls("sqlite"), "SECRET_KEY": "s" * 40,
        "API_KEY_ENCRYPTION_KEY": "x" * 43 + "=", "LOG_FORMAT": "json"})
    response = production.test_client().get("/healthz", buffered=True)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["request_id"] == response.headers["X-Request-ID"] and line["route"] == "/healthz"
    assert logging.getLogger("dashboard").propagate is False
    make_app(database_urls("sqlite"))  # a test app: pytest's capture sees the records again
    assert logging.getLogger("dashboard").propagate is True
    assert not logging.getLogger("dashboard").handlers
