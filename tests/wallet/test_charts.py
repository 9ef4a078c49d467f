"""The wallet page's charts: drawn on the server (present without JavaScript), named, with a
table alternative, range links, no inline style, and the same figures as the API."""
from __future__ import annotations

import re

import pytest

from dashboard.ledger.demo import seed_demo


@pytest.fixture
def story_client(app, client):
    with app.app_context():
        seed_demo(story=True)
    client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    return client


def test_both_charts_are_in_the_html(app, story_client):
    page = story_client.get("/").get_data(as_text=True)
    assert re.search(r'<svg class="allocation-bar"[^>]*role="img"[^>]*aria-labelledby="allocation-svg-title"', page)
    assert re.search(r'<svg class="history-line"[^>]*role="img"[^>]*aria-labelledby="history-svg-title"', page)
    assert '<title id="allocation-svg-title">Allocation: JPY 43.3%' in page
    assert re.search(r'<polyline class="line" points="(\d+\.\d\d,\d+\.\d\d ){300,}', page)  # a year, daily
    assert 'class="chart-table allocation-table"' in page and 'class="chart-table history-table"' in page
    assert " style=" not in page and "<script>" not in page  # the CSP forbids inline style and script


def test_range_links_work_without_javascript(app, story_client):
    page = story_client.get("/").get_data(as_text=True)
    for name in ("1d", "1w", "1m", "1y", "all"):
        assert f'href="/?range={name}#history"' in page
    assert '<a href="/?range=1y#history" aria-current="page">1Y</a>' in page
    week = story_client.get("/?range=1w").get_data(as_text=True)
    assert '<a href="/?range=1w#history" aria-current="page">1W</a>' in week
    points = re.search(r'<polyline class="line" points="([^"]+)"', week).group(1).split()
    assert 168 <= len(points) <= 170


@pytest.mark.parametrize("query", ["?range=2y", "?range=", "?range=%00", "?range=1Y"])
def test_a_bad_range_on_the_page_is_a_400(app, story_client, query):
    response = story_client.get("/" + query)
    assert response.status_code == 400 and "1d, 1w, 1m, 1y or all" in response.get_data(as_text=True)


def test_the_chart_ends_at_the_net_assets_now(app, story_client):
    page = story_client.get("/").get_data(as_text=True)
    net = story_client.get("/api/balance").get_json()["net_assets"]["formatted"]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td><td>([^<]+)</td></tr>', page)
    assert rows[-1][0] == "Now" and rows[-1][1] == f"¥ {net}"


def test_charts_in_japanese(app, story_client):
    story_client.set_cookie("lang", "ja")
    page = story_client.get("/").get_data(as_text=True)
    assert "総資産の推移" in page and "資産配分" in page and ">1 年</a>" in page and ">現在<" in page


def test_an_empty_wallet_has_no_slices(app, client):
    from dashboard.accounts.store import create_account
    from dashboard.extensions import db

    with app.app_context():
        create_account("empty@example.com", "empty-pass")
        db.session.commit()
    client.post("/login", data={"email": "empty@example.com", "password": "empty-pass"})
    page = client.get("/").get_data(as_text=True)
    assert "Nothing to show yet." in page
    assert 'class="line-dot"' in client.get("/?range=all").get_data(as_text=True)  # one point: now
    assert client.get("/api/history?range=all").get_json()["points"][0]["index"] is None


def test_wallet_charts_off_leaves_them_out_of_the_page(app, story_client):
    app.config["WALLET_CHARTS"] = False  # before any page is rendered: the memo is per app
    page = story_client.get("/").get_data(as_text=True)
    assert "<svg" not in page and 'id="history"' not in page and "range=1y" not in page
    assert '<table class="balances' in page  # the rest of the page is there
    assert story_client.get("/?range=2y").status_code == 200  # without the charts no range is read
    assert story_client.get("/api/history?range=1y").status_code == 200  # the API stays


@pytest.mark.parametrize(("value", "on"), [(None, True), ("", True), ("1", True), ("on", True), ("0", False), ("off", False)])
def test_wallet_charts_setting(monkeypatch, value, on):
    from dashboard import config

    if value is None:
        monkeypatch.delenv("WALLET_CHARTS", raising=False)
    else:
        monkeypatch.setenv("WALLET_CHARTS", value)
    assert config.from_environment()["WALLET_CHARTS"] is on
