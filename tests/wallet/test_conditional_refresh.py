"""/api/balance answers a refresh that already has the figures with a bodiless 304."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from tests_support import count_queries, wait_until

from dashboard.extensions import db


def etag_of(response) -> str:
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith('W/'), etag  # strong
    return etag


def test_an_unchanged_wallet_gets_304_and_no_body(signed_in):
    first = signed_in.get("/api/balance")
    etag = etag_of(first)
    again = signed_in.get("/api/balance", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "no-store"  # still never kept by a shared cache


def test_the_etag_names_the_exact_body(signed_in):
    first, second = signed_in.get("/api/balance"), signed_in.get("/api/balance")
    assert first.get_data() == second.get_data() and etag_of(first) == etag_of(second)


@pytest.mark.parametrize("sent", ['"0000"', "*not-an-etag*", 'W/"x"', "", '"' + "a" * 5000 + '"'])
def test_any_other_validator_gets_the_full_answer(signed_in, sent):
    response = signed_in.get("/api/balance", headers={"If-None-Match": sent})
    assert response.status_code == 200
    assert response.get_json()["net_assets"]["jpy"]


def test_a_changed_figure_changes_the_etag(app, signed_in):
    etag = etag_of(signed_in.get("/api/balance"))
    with app.app_context():
        db.session.execute(text("UPDATE balances SET available = '1' WHERE currency_code = 'btc'"))
        db.session.commit()
    changed = signed_in.get("/api/balance", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert etag_of(changed) != etag


def test_the_language_and_the_switch_change_the_etag(signed_in):
    # (CSRF is off in these request tests; tests/security covers it.)
    signed_in.post("/language/", data={"lang": "en"})
    etags = {etag_of(signed_in.get("/api/balance"))}
    signed_in.post("/language/", data={"lang": "ja"})
    etags.add(etag_of(signed_in.get("/api/balance")))
    assert signed_in.post("/api/preferences", json={"show_in_header": False}).status_code == 200
    etags.add(etag_of(signed_in.get("/api/balance")))
    assert signed_in.post("/api/preferences", json={"show_in_header": True}).status_code == 200
    etags.add(etag_of(signed_in.get("/api/balance")))
    assert len(etags) == 3  # en; ja with the header on; ja with it off (on again: the ja-on document)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_304_sends_no_sql_while_the_account_is_cached(app, signed_in):
    feed = app.extensions["dashboard_change_feed"]
    signed_in.get("/api/balance")
    wait_until(lambda: feed.listening, "the feed listening")
    etag = etag_of(signed_in.get("/api/balance"))  # read while listening: now cached
    with count_queries(app) as statements:
        assert signed_in.get("/api/balance", headers={"If-None-Match": etag}).status_code == 304
    assert statements == []
