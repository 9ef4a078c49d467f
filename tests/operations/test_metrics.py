"""/metrics: behind METRICS_TOKEN or METRICS_ALLOW (nobody by default), counted as requests and
events arrive, by route template, never with an email, a token or an amount in a label; and
added up across gunicorn's workers (multiprocess mode)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import make_app, sign_in
from prometheus_client.multiprocess import MultiProcessCollector

from dashboard.config import ConfigurationError

TOKEN = "metrics-token-" + "t" * 20
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[str, float]:
    """Each sample line as 'name{labels}' -> value."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics", headers=BEARER, buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


def value(found: dict, name: str, **labels) -> float:
    want = ",".join(f'{key}="{label}"' for key, label in sorted(labels.items()))
    return found.get(f"{name}{{{want}}}" if labels else name, 0.0)


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN}


def test_nobody_reads_metrics_by_default(database_urls):
    client = make_app(database_urls("sqlite")).test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_the_token_opens_metrics_and_nothing_else_does(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 403
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_allowed_addresses_open_metrics(database_urls, backend):
    # The test client comes from 127.0.0.1.
    assert make_app(database_urls(backend), METRICS_ALLOW="127.0.0.0/8").test_client().get("/metrics").status_code == 200
    assert make_app(database_urls(backend), METRICS_ALLOW="10.0.0.0/8, 192.0.2.7").test_client().get("/metrics").status_code == 403


@pytest.mark.parametrize("setting, value", [("METRICS_ALLOW", "10.0.0.0/8, not-an-address"), ("METRICS_ALLOW", "192.0.2.1/24"),
                                            ("METRICS_TOKEN", "short"), ("METRICS_TOKEN", "has spaces in the token ok")])
def test_bad_metrics_settings_stop_the_start(database_urls, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        make_app(database_urls("sqlite"), **{setting: value})


def test_requests_are_counted_by_route_template(client, demo):
    before = scrape(client)
    sign_in(client)
    for _ in range(3):
        client.get("/api/balance", buffered=True)
    client.get("/api/history?range=1w", buffered=True)
    client.get("/no/such/page", buffered=True)
    after = scrape(client)
    assert value(after, "dashboard_http_requests_total", method="GET", route="/api/balance", status="200") \
        - value(before, "dashboard_http_requests_total", method="GET", route="/api/balance", status="200") == 3
    assert value(after, "dashboard_http_requests_total", method="GET", route="(unmatched)", status="404") \
        - value(before, "dashboard_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert value(after, "dashboard_http_request_duration_seconds_count", route="/api/balance") \
        - value(before, "dashboard_http_request_duration_seconds_count", route="/api/balance") == 3
    assert not any("/no/such/page" in name for name in after)


def test_the_304_given_before_flask_is_counted(client, demo, backend):
    sign_in(client)
    etag = client.get("/api/balance", buffered=True).headers["ETag"]
    before = scrape(client)
    assert client.get("/api/balance", headers={"If-None-Match": etag}, buffered=True).status_code == 304
    after = scrape(client)
    assert value(after, "dashboard_http_requests_total", method="GET", route="/api/balance", status="304") \
        - value(before, "dashboard_http_requests_total", method="GET", route="/api/balance", status="304") == 1


def test_sign_ins_by_outcome(client, demo):
    before = scrape(client)
    client.post("/login", data={"email": "demo@example.com", "password": "wrong"})
    client.post("/login", data={"email": "nobody@example.com", "password": "wrong"})
    sign_in(client)
    after = scrape(client)
    assert value(after, "dashboard_sign_ins_total", outcome="bad_password") - value(before, "dashboard_sign_ins_total", outcome="bad_password") == 2
    assert value(after, "dashboard_sign_ins_total", outcome="success") - value(before, "dashboard_sign_ins_total", outcome="success") == 1


def test_throttled_sign_ins_are_counted(database_urls):
    app = make_app(database_urls("sqlite"), METRICS_TOKEN=TOKEN, RATELIMIT_ENABLED=True, LOGIN_LIMIT="2 per minute",
                   RATELIMIT_KEY_PREFIX="metrics-test-" + str(time.time()))
    client = app.test_client()
    before = scrape(client)
    statuses = [client.post("/login", data={"email": "who@example.com", "password": "x"}).status_code for _ in range(4)]
    assert 429 in statuses
    after = scrape(client)
    assert value(after, "dashboard_sign_ins_total", outcome="throttled") - value(before, "dashboard_sign_ins_total", outcome="throttled") \
        == statuses.count(429)


def test_signed_api_failures_and_read_cache_lookups(client, demo, backend):
    before = scrape(client)
    client.get("/api/accounts/balance", headers={"ACCESS-KEY": "x", "ACCESS-NONCE": "1", "ACCESS-SIGNATURE": "0" * 64})
    client.get("/api/accounts/balance")
    sign_in(client)
    client.get("/", buffered=True)
    client.get("/", buffered=True)
    after = scrape(client)
    assert value(after, "dashboard_signed_api_failures_total", status="401") - value(before, "dashboard_signed_api_failures_total", status="401") == 2
    lookups = sum(value(after, "dashboard_read_cache_lookups_total", cache=cache, result=result)
                  - value(before, "dashboard_read_cache_lookups_total", cache=cache, result=result)
                  for cache in ("sessions", "wallets") for result in ("hit", "miss"))
    assert lookups > 0  # both backends cache a file or server database (READ_CACHE_SECONDS default)


def test_journal_entries_are_counted_when_committed(client, app):
    from sqlalchemy import func, select

    from dashboard.extensions import db
    from dashboard.ledger.demo import seed_demo
    from dashboard.models import JournalEntry

    before = scrape(client)
    with app.app_context():
        seed_demo()
        written = db.session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
    after = scrape(client)
    assert written > 0
    assert value(after, "dashboard_journal_entries_total") - value(before, "dashboard_journal_entries_total") == written


def test_rate_ages_and_readiness_at_scrape_time(client, demo):
    found = scrape(client)
    ages = {name: age for name, age in found.items() if name.startswith("dashboard_rate_age_seconds{")}
    assert 'dashboard_rate_age_seconds{currency="btc"}' in ages and all(age >= 0 for age in ages.values())
    assert 'dashboard_rate_age_seconds{currency="jpy"}' not in ages
    assert value(found, "dashboard_readiness_check", check="database") == 1.0


def test_no_email_token_or_amount_in_any_metric(client, demo):
    sign_in(client)
    balance = client.get("/api/balance", buffered=True).get_json()
    client.post("/login", data={"email": "demo@example.com", "password": "demopass-wrong"})
    text = client.get("/metrics", headers=BEARER).get_data(as_text=True)
    labels = " ".join(re.findall(r"^dashboard_\w*(\{[^}]*\})", text, flags=re.MULTILINE))
    amounts = {row["available"] for row in balance["balances"] if len(row["available"]) >= 4}
    for secret in ("demo@example.com", "demopass", TOKEN, client.get_cookie("session").value, *amounts):
        assert secret not in labels, secret
    # Every label value is one of a small fixed kind: a route template, a method, a status, a word, a code.
    for name, label in re.findall(r'(\w+)="([^"]*)"', labels):
        assert name in {"route", "method", "status", "cache", "result", "outcome", "currency", "check", "le"}, name
        assert "@" not in label and len(label) <= 64, label


# --- two gunicorn workers ---------------------------------------------------------------------

def free_port() -> int:
    for port in range(8100, 8190):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8100-8189")


def get(url: str, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
        return response.status, dict(response.headers), response.read().decode()


def served_by_each(metrics_dir: Path) -> dict[str, float]:
    """/healthz requests counted in each process's own file."""
    served = {}
    for path in metrics_dir.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == "dashboard_http_requests_total" and sample.labels["route"] == "/healthz":
                    served[path.name] = served.get(path.name, 0) + sample.value
    return served


def test_metrics_add_up_across_two_gunicorn_workers(database_urls, tmp_path):
    url = database_urls("sqlite")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over from a previous run")  # emptied at start
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, DATABASE_URL=url, DASHBOARD_ENV="development", LOG_FORMAT="json", METRICS_TOKEN=TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), WEB_CONCURRENCY="2", PORT=str(port))
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(root / "gunicorn.conf.py"),
                                   "--bind", f"127.0.0.1:{port}"], cwd=root, env=env, stdout=log_file, stderr=log_file)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base + "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start:\n" + log_path.read_text())
                time.sleep(0.2)
        # Both workers up: each has loaded the app, whose metrics open a file per process.
        while len(list(metrics_dir.glob("counter_*.db"))) < 2:
            if time.monotonic() > deadline:
                pytest.fail("the second worker did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        assert not (metrics_dir / "counter_999999.db").exists()
        # Eight at a time, in rounds of 40, until each worker has served some (which one takes a
        # connection is the kernel's choice): each counts in its own file.
        ids, served = [], {}
        with ThreadPoolExecutor(8) as pool:
            # A worker still loading the app (seconds, on a busy machine) takes no connection yet.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len([count for count in served.values() if count > 0]) < 2:
                ids += pool.map(lambda _: get(base + "/healthz")[1]["X-Request-ID"], range(40))
                served = served_by_each(metrics_dir)
                time.sleep(0.2)
        assert len([count for count in served.values() if count > 0]) == 2, served
        assert len(set(ids)) == len(ids)
        status, headers, text = get(base + "/metrics", BEARER)
        assert status == 200
        # Added up across the workers: the first probe that found the server up, and the rest.
        assert value(samples(text), "dashboard_http_requests_total", method="GET", route="/healthz", status="200") \
            == len(ids) + 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    import json

    records = [json.loads(line) for line in lines]
    logged = {record.get("request_id") for record in records if record.get("route") == "/healthz"}
    assert set(ids) <= logged  # the id each response carried is in its line
    assert any(record.get("message", "").startswith("Handling signal: term") for record in records)
    assert server.returncode == 0
