"""An unchanged refresh is answered 304 before the account is loaded, and only while nothing it
was made from can have changed: every change, and every moment the clock alone would change the
answer, sends the refresh down the full path."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from tests_support import count_queries, wait_until

from dashboard.read_path import signed_in as signed_in_module
from dashboard.wallet import unchanged_refresh, views
from dashboard.wallet.holdings import figures_unchanged_until


@pytest.fixture
def full_path_refused(monkeypatch):
    """Makes the full answer fail loudly, so a 304 can only have come from the short path."""
    def refuse():
        raise AssertionError("the full path ran")

    monkeypatch.setattr(views, "current_figures", refuse)


@pytest.fixture
def full_path_spy(monkeypatch):
    """The If-None-Match of every request that reached the full answer."""
    seen = []
    real = unchanged_refresh.remember_answer

    def spy(etag, figures, body_key):
        from flask import request

        seen.append(request.headers.get("If-None-Match"))
        return real(etag, figures, body_key)

    monkeypatch.setattr(unchanged_refresh, "remember_answer", spy)
    return seen


def answered_in_full(app, client, path):
    """The full answer of `path`, given while the read cache was storing, so it is remembered."""
    feed = app.extensions.get("dashboard_change_feed")
    client.get(path)
    if feed is not None:
        wait_until(lambda: feed.listening, "the feed listening")
    return client.get(path)


@pytest.fixture
def warm(app, signed_in):
    """A refresh that has had its full answer once while the read cache was storing: its ETag."""
    return answered_in_full(app, signed_in, "/api/balance").headers["ETag"]


def refresh(client, etag):
    return client.get("/api/balance", headers={"If-None-Match": etag})


def test_an_unchanged_refresh_is_answered_before_the_account_is_loaded(app, signed_in, warm, full_path_refused):
    with count_queries(app) as statements:
        answer = refresh(signed_in, warm)
    assert answer.status_code == 304 and answer.get_data() == b""
    assert answer.headers["ETag"] == warm
    # The same headers as the full path's 304: every security header, and never stored by a cache.
    assert answer.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in answer.headers
    assert statements == []


def without_request_id(response) -> list[tuple[str, str]]:
    headers = list(response.headers.items())
    assert sum(1 for name, _ in headers if name == "X-Request-ID") == 1
    return [(name, value) for name, value in headers if name != "X-Request-ID"]


def test_a_repeated_request_without_a_validator_gets_the_same_full_answer(app, signed_in, warm, monkeypatch):
    app.extensions[unchanged_refresh.EXTENSION]._answered.clear()  # noqa: SLF001 (forget: the next answer is a full one)
    full = signed_in.get("/api/balance")
    monkeypatch.setattr(views, "current_figures", None)  # the full path cannot run now
    with count_queries(app) as statements:
        remembered = signed_in.get("/api/balance")
    assert remembered.status_code == 200 and statements == []
    assert remembered.get_data() == full.get_data() and remembered.get_data().endswith(b"}\n")
    assert sorted(without_request_id(remembered)) == sorted(without_request_id(full))


@pytest.mark.parametrize(("sent", "status"), [("{}, \"other\"", 304), ("W/{}", 200), ("\"other\"", 200)])
def test_another_validator_takes_the_full_path(signed_in, warm, full_path_spy, sent, status):
    # The full path decides as before: a list naming the ETag matches, a weak or other one does not.
    assert refresh(signed_in, sent.format(warm)).status_code == status
    assert full_path_spy == [sent.format(warm)]


def test_a_refresh_without_a_sign_in_is_never_answered_from_memory(app, signed_in, warm, client):
    stranger = app.test_client()
    assert refresh(stranger, warm).status_code == 401


def test_a_balance_changed_by_another_process_is_seen(app, signed_in, warm, backend):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE balances SET available = available + 1 WHERE currency_code = 'jpy' AND account_id = "
                                    "(SELECT id FROM accounts WHERE email = 'demo@example.com')"))
    finally:
        engine.dispose()
    # PostgreSQL tells the process through its feed (a moment later); SQLite is asked every time.
    wait_until(lambda: refresh(signed_in, warm).status_code == 200, "the change seen")
    assert refresh(signed_in, warm).headers["ETag"] != warm


def test_a_switch_or_the_language_changes_the_answer(signed_in, warm):
    assert signed_in.post("/api/preferences", json={"discreet": True}).status_code == 200
    hidden = refresh(signed_in, warm)
    assert hidden.status_code == 200 and hidden.get_json()["net_assets"]["jpy"] is None
    assert signed_in.post("/api/preferences", json={"discreet": False}).status_code == 200
    assert refresh(signed_in, warm).status_code == 304  # the same document as before: the same ETag
    signed_in.set_cookie("lang", "ja")  # the tests' site language is English
    japanese = refresh(signed_in, warm)
    assert japanese.status_code == 200 and japanese.headers["ETag"] != warm


def test_a_session_ended_elsewhere_is_refused(app, signed_in, warm):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM login_sessions"))
    finally:
        engine.dispose()
    wait_until(lambda: refresh(signed_in, warm).status_code == 401, "the sign-out seen")


def test_last_seen_is_still_written_once_per_touch_interval(app, signed_in, warm, monkeypatch):
    later = datetime.now(UTC) + signed_in_module.touch_interval(app.config) + timedelta(seconds=1)
    monkeypatch.setattr(signed_in_module, "now", lambda: later)
    assert refresh(signed_in, warm).status_code == 304  # by the full path, which writes "last seen"
    with app.app_context():
        from dashboard.extensions import db

        seen = db.session.execute(text("SELECT max(last_seen_at) FROM login_sessions")).scalar_one()
    if isinstance(seen, str):  # SQLite hands back text
        seen = datetime.fromisoformat(seen)
    assert seen.replace(tzinfo=seen.tzinfo or UTC) >= later - timedelta(seconds=1)


def test_an_idle_session_ends_even_for_a_remembered_refresh(app, signed_in, warm, monkeypatch):
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    monkeypatch.setattr(signed_in_module, "now", lambda: datetime.now(UTC) + idle)
    assert refresh(signed_in, warm).status_code == 401


def test_the_remembered_answer_expires_when_a_rate_turns_stale(app, signed_in, warm):
    refreshes = app.extensions[unchanged_refresh.EXTENSION]
    (answered,) = refreshes._answered.values()  # noqa: SLF001 (one browser, one entry)
    stale_at = figures_unchanged_until(answered.wallet_rows, now=datetime.now(UTC), max_age=app.config["RATE_MAX_AGE"])
    assert answered.valid_until <= stale_at


def test_figures_unchanged_until_is_the_first_fresh_rate_to_turn_stale():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    max_age = timedelta(minutes=15)
    rows = (
        ("jpy", 0, Decimal(1), Decimal(0), Decimal(1), now - timedelta(days=9)),        # JPY never turns stale
        ("btc", 8, Decimal(1), Decimal(0), Decimal("1000"), now - timedelta(minutes=5)),
        ("eth", 8, Decimal(1), Decimal(0), Decimal("10"), now - timedelta(minutes=20)),  # stale already: stays so
        ("xem", 6, Decimal(1), Decimal(0), None, None),                                  # no rate: nothing to turn
    )
    assert figures_unchanged_until(rows, now=now, max_age=max_age) == now + timedelta(minutes=10)
    assert figures_unchanged_until(rows[2:], now=now, max_age=max_age) == datetime.max.replace(tzinfo=UTC)


def test_nothing_is_remembered_with_the_read_cache_off(database_urls, backend):
    from conftest import make_app

    app = make_app(database_urls(backend), READ_CACHE_SECONDS=0)
    assert unchanged_refresh.EXTENSION not in app.extensions


# --- the page ----------------------------------------------------------------------------------

@pytest.fixture
def warm_page(app, signed_in):
    """The page's full answer once while the read cache was storing: its HTML."""
    return answered_in_full(app, signed_in, "/").get_data(as_text=True)


def test_a_reloaded_page_is_answered_before_the_account_is_loaded(app, signed_in, warm_page, full_path_refused):
    with count_queries(app) as statements:
        again = signed_in.get("/")
    assert again.status_code == 200 and statements == []
    assert again.get_data(as_text=True) == warm_page  # the same page, the same (still fresh) CSRF token
    assert again.mimetype == "text/html" and again.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/?range=1y", "/?range=bogus"])
def test_a_page_with_a_query_string_is_rendered_by_the_full_path(signed_in, warm_page, path):
    answer = signed_in.get(path)
    assert answer.status_code == (200 if path.endswith("1y") else 400)


def test_a_flashed_message_is_shown_by_the_full_path(signed_in, warm_page):
    with signed_in.session_transaction() as browser_session:
        browser_session["_flashes"] = [("message", "A message for this visit")]
    assert "A message for this visit" in signed_in.get("/").get_data(as_text=True)
    assert "A message for this visit" not in signed_in.get("/").get_data(as_text=True)


def test_a_remembered_page_expires_when_its_chart_moves_on(app, signed_in, monkeypatch):
    soon = datetime.now(UTC) + timedelta(seconds=5)
    monkeypatch.setattr(views, "chart_changes_at", lambda key: soon)
    rendered = []
    real_shell = views.wallet_page_shell
    monkeypatch.setattr(views, "wallet_page_shell", lambda *args, **kwargs: rendered.append(1) or real_shell(*args, **kwargs))
    answered_in_full(app, signed_in, "/")
    rendered.clear()
    signed_in.get("/")
    assert rendered == []  # from memory
    (page,) = [answered for key, answered in app.extensions[unchanged_refresh.EXTENSION]._answered.items()  # noqa: SLF001
               if key[0] == unchanged_refresh.PAGE]
    assert page.valid_until == soon
    monkeypatch.setattr(signed_in_module, "now", lambda: soon)
    assert signed_in.get("/").status_code == 200
    assert rendered == [1]  # the chart's next period: drawn by the full path


def test_chart_changes_at_is_the_next_period_boundary():
    from dashboard.wallet.charts import chart_changes_at

    boundary = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert chart_changes_at(("1d", boundary, 1, False)) == boundary + timedelta(minutes=15)
    assert chart_changes_at(("1y", boundary, 1, False)) == boundary + timedelta(days=1)


def test_a_remembered_answer_keeps_no_body_alive(app, signed_in, warm):
    """The body is the figures' own (held weakly): once their memo lets them go, the next request
    is answered in full, and a validator still gets its 304 (the rows, hence the ETag, are the same)."""
    from dashboard.wallet import holdings

    holdings._DOCUMENTS.clear()  # noqa: SLF001 (as the memo's LRU would, under pressure)
    import gc

    gc.collect()
    (answered,) = [a for key, a in app.extensions[unchanged_refresh.EXTENSION]._answered.items()  # noqa: SLF001
                   if key[0] == unchanged_refresh.BALANCE]
    assert answered.figures() is None
    assert refresh(signed_in, warm).status_code == 304
    again = signed_in.get("/api/balance")
    assert again.status_code == 200 and again.headers["ETag"] == warm


# The 304 given in front of Flask (unchanged_refresh.NotModifiedBeforeFlask).

@pytest.fixture
def flask_requests(app):
    """How many requests reached Flask (its request_started signal)."""
    from flask import request_started

    seen = []

    def count(sender, **extra):
        seen.append(1)

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def test_an_unchanged_refresh_is_answered_in_front_of_flask_as_flask_would(app, signed_in, warm, flask_requests, monkeypatch):
    with count_queries(app) as statements:
        before_flask = refresh(signed_in, warm)
    assert before_flask.status_code == 304 and before_flask.get_data() == b""
    assert flask_requests == [] and statements == []
    # The same request answered by Flask (its first hook): the very same status and headers.
    monkeypatch.setattr(unchanged_refresh.NotModifiedBeforeFlask, "_unchanged", lambda self, environ: None)
    by_flask = refresh(signed_in, warm)
    assert flask_requests == [1]
    assert by_flask.status == before_flask.status
    # Each answer has its own request id (the request log, outside both); the rest is identical.
    assert without_request_id(by_flask) == without_request_id(before_flask)


@pytest.mark.parametrize("app_config", [{"HSTS": True}])
def test_the_304_in_front_of_flask_carries_hsts_when_flask_would(app, signed_in, warm, flask_requests):
    answer = refresh(signed_in, warm)
    assert answer.status_code == 304 and flask_requests == []
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("sent", [
    {"path": "/api/balance?x=1"},
    {"method": "HEAD"},
    {"path": "/api/balance/"},
    {"headers": {"Accept-Language": "en"}},        # another language input: another key
    {"cookie": ("lang", "en")},
    {"etag": '"0000"'},
    {"etag": "W/{}"},
    {"etag": "*"},
    {"etag": '"' * 5000},
])
def test_whatever_differs_is_decided_by_flask(app, signed_in, warm, flask_requests, sent):
    if "cookie" in sent:
        signed_in.set_cookie(*sent["cookie"])
    etag = sent.get("etag", "{}").format(warm)
    answer = signed_in.open(sent.get("path", "/api/balance"), method=sent.get("method", "GET"),
                            headers={"If-None-Match": etag, **sent.get("headers", {})})
    assert flask_requests == [1]
    assert answer.status_code in (200, 304, 404)


@pytest.mark.parametrize("cookie", ["", "garbage", "session=", "session=not.a.signed.cookie", ";;;=;", "session=" + "a" * 5000])
def test_a_bad_or_unknown_session_cookie_is_decided_by_flask(app, warm, flask_requests, cookie):
    stranger = app.test_client()
    answer = stranger.get("/api/balance", headers={"If-None-Match": warm, "Cookie": cookie})
    assert flask_requests == [1] and answer.status_code == 401


def test_a_tampered_copy_of_a_known_cookie_is_refused_by_flask(app, signed_in, warm, flask_requests):
    value = signed_in.get_cookie("session").value
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    answer = app.test_client().get("/api/balance", headers={"If-None-Match": warm, "Cookie": f"session={tampered}"})
    assert flask_requests == [1] and answer.status_code == 401


def test_a_session_flask_would_send_a_cookie_for_is_decided_by_flask(app, signed_in, warm, flask_requests):
    # A permanent session is sent again with every answer (SESSION_REFRESH_EACH_REQUEST): a 304
    # in front of Flask would drop that cookie, so Flask answers each time.
    with signed_in.session_transaction() as session:
        session.permanent = True
    etag = answered_in_full(app, signed_in, "/api/balance").headers["ETag"]
    flask_requests.clear()
    for _ in range(2):
        answer = refresh(signed_in, etag)
        assert answer.status_code == 304 and "Set-Cookie" in answer.headers
    assert flask_requests == [1, 1]


def test_an_error_while_deciding_in_front_of_flask_leaves_the_answer_to_flask(app, signed_in, warm, flask_requests, monkeypatch):
    def broken(header):
        raise RuntimeError("cookie parser broke")

    monkeypatch.setattr(unchanged_refresh, "parse_cookie", broken)
    answer = refresh(signed_in, warm)
    assert answer.status_code == 304 and flask_requests == [1]


def test_a_change_is_seen_in_front_of_flask_too(app, signed_in, warm, flask_requests):
    assert refresh(signed_in, warm).status_code == 304 and flask_requests == []
    assert signed_in.post("/api/preferences", json={"show_in_header": False}).status_code == 200
    changed = refresh(signed_in, warm)
    assert changed.status_code == 200 and changed.headers["ETag"] != warm


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_proxy_the_forwarded_scheme_is_part_of_the_decision(app, signed_in, flask_requests):
    # In front of Flask but behind ProxyFix: it keys on the scheme Flask would see.
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    signed_in.get("/api/balance", headers=https)
    wait_until(lambda: app.extensions.get("dashboard_change_feed") is None or app.extensions["dashboard_change_feed"].listening,
               "the feed listening")
    etag = signed_in.get("/api/balance", headers=https).headers["ETag"]
    flask_requests.clear()
    assert signed_in.get("/api/balance", headers={**https, "If-None-Match": etag}).status_code == 304
    assert flask_requests == []
    assert signed_in.get("/api/balance", headers={"X-Forwarded-Proto": "http", "If-None-Match": etag}).status_code == 304
    assert flask_requests == [1]
