"""GET /api/stream: the figures as /api/balance has them, on connect and after every kind of
change, resumed by Last-Event-ID, ended with the session, and never another account's."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import sign_in

from dashboard.accounts.store import create_account, find_account
from dashboard.extensions import db
from dashboard.ledger.changes import adjust
from dashboard.ledger.rate_updates import store_rate
from dashboard.read_path import signed_in
from tests.live.conftest import cookie_of


def demo_id(app) -> int:
    with app.app_context():
        return find_account("demo@example.com").id


def balance_now(client) -> tuple[dict, str]:
    response = client.get("/api/balance")
    assert response.status_code == 200
    return response.get_json(), response.headers["ETag"].strip('"')


def next_figures(reader):
    event = reader.next()
    assert event is not None, "the stream closed"
    assert event.name == "figures", event
    return event


def tick(app, code="btc", rate="12345678.5"):
    with app.app_context():
        store_rate(code, Decimal(rate), as_of=datetime.now(UTC), source="test")
        db.session.commit()


def deposit(app, account_id, code="btc", amount="0.5"):
    with app.app_context():
        adjust(account_id, code, available=Decimal(amount), reason="deposit", source="test")
        db.session.commit()


@pytest.fixture
def signed_in_stream(app, client, demo, open_stream):
    sign_in(client)
    return open_stream({"Cookie": cookie_of(client, app)})


def test_the_first_event_is_api_balance_with_its_etag_as_id(app, client, signed_in_stream):
    reader = signed_in_stream
    assert reader.status == 200
    assert reader.headers["Content-Type"].startswith("text/event-stream")
    assert reader.headers["Cache-Control"] == "no-store"
    balance = client.get("/api/balance")
    assert reader.headers["Content-Security-Policy"] == balance.headers["Content-Security-Policy"]
    event = next_figures(reader)
    document, etag = balance_now(client)
    assert event.json()["balance"] == document
    assert event.id == etag
    slices = event.json()["allocation"]
    assert slices and {"label", "members", "percent", "x", "width", "colour"} <= set(slices[0])


def test_every_kind_of_change_in_order_and_exact(app, client, signed_in_stream):
    reader = signed_in_stream
    next_figures(reader)
    # A rate tick.
    tick(app, rate="13000000")
    event = next_figures(reader)
    document, etag = balance_now(client)
    assert (event.json()["balance"], event.id) == (document, etag)
    assert any(row["rate_jpy"] == "13000000" for row in document["balances"])
    # A balance change.
    deposit(app, demo_id(app), amount="0.25")
    event = next_figures(reader)
    document, etag = balance_now(client)
    assert (event.json()["balance"], event.id) == (document, etag)
    # A switch saved in another tab.
    assert client.post("/api/preferences", json={"hide_zero_balances": True}).status_code == 200
    event = next_figures(reader)
    document, etag = balance_now(client)
    assert document["hide_zero_balances"] is True
    assert (event.json()["balance"], event.id) == (document, etag)


def test_resume_with_the_current_id_sends_nothing_until_a_change(app, client, demo, open_stream):
    sign_in(client)
    cookie = cookie_of(client, app)
    first = open_stream({"Cookie": cookie})
    current = next_figures(first).id
    first.close()
    resumed = open_stream({"Cookie": cookie, "Last-Event-ID": current})
    assert resumed.status == 200
    said = resumed.next(comments=True)
    assert said.comment.startswith("resumed")
    tick(app, rate="14000000")
    event = next_figures(resumed)
    assert event.id != current
    assert (event.json()["balance"], event.id) == balance_now(client)


def test_resume_after_a_missed_change_sends_the_current_figures_at_once(app, client, demo, open_stream):
    sign_in(client)
    cookie = cookie_of(client, app)
    first = open_stream({"Cookie": cookie})
    missed = next_figures(first).id
    first.close()
    tick(app, rate="15000000")  # while the browser was away
    resumed = open_stream({"Cookie": cookie, "Last-Event-ID": missed})
    event = next_figures(resumed)
    assert event.id != missed
    assert (event.json()["balance"], event.id) == balance_now(client)


@pytest.mark.parametrize("value", ["not-hex", "x" * 65, "0" * 65])
def test_a_last_event_id_we_never_sent_is_refused(app, client, demo, open_stream, value):
    sign_in(client)
    reader = open_stream({"Cookie": cookie_of(client, app), "Last-Event-ID": value})
    assert reader.status == 400
    assert "Last-Event-ID" in reader.response.read().decode()


def test_no_session_is_refused(app, demo, open_stream):
    reader = open_stream({})
    assert reader.status == 401
    assert reader.headers["Content-Type"].startswith("application/json")


def test_a_forged_session_cookie_is_refused(app, client, demo, open_stream):
    sign_in(client)
    name, _, value = cookie_of(client, app).partition("=")
    reader = open_stream({"Cookie": f"{name}={value[:-4]}AAAA"})
    assert reader.status == 401


def test_the_stream_ends_at_sign_out(app, client, signed_in_stream):
    reader = signed_in_stream
    next_figures(reader)
    client.post("/logout")
    event = reader.next()
    assert event is not None and event.name == "end"
    assert event.json() == {"reason": "signed_out"}
    assert reader.next() is None  # and then it closes


def test_the_stream_ends_when_signed_out_everywhere_else(app, client, demo, open_stream):
    from dashboard.accounts.sessions import end_other_sessions

    sign_in(client)
    reader = open_stream({"Cookie": cookie_of(client, app)})
    next_figures(reader)
    with app.app_context():
        end_other_sessions(demo_id(app), keep_token="another browser's")
    assert reader.next().name == "end"


def test_the_stream_ends_when_the_session_expires(app, client, signed_in_stream, monkeypatch):
    reader = signed_in_stream
    next_figures(reader)
    # The clock jumps past the session's absolute limit and goes on moving (a frozen clock would
    # leave the hub's retry of a transient answer, two seconds on, never due).
    real_now, jump = signed_in.now, timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    monkeypatch.setattr(signed_in, "now", lambda: real_now() + jump)
    event = reader.next()
    assert event is not None and event.name == "end"


def test_a_discreet_stream_carries_no_amount(app, client, demo, open_stream):
    sign_in(client)
    assert client.post("/api/preferences", json={"discreet": True}).status_code == 200
    reader = open_stream({"Cookie": cookie_of(client, app)})
    first = next_figures(reader)
    tick(app, rate="16000000")
    for event in (first, next_figures(reader)):
        balance = event.json()["balance"]
        assert balance["discreet"] is True
        assert balance["net_assets"]["jpy"] is None and balance["net_assets"]["formatted"] == "•••"
        for row in balance["balances"]:
            assert row["available"] is None and row["total_jpy"] is None
            assert row["formatted"]["total"] == "•••"
    assert (balance, event.id) == balance_now(client)


def test_another_accounts_change_never_reaches_this_stream(app, client, signed_in_stream):
    reader = signed_in_stream
    next_figures(reader)
    with app.app_context():
        other_account = create_account("other@example.com", "otherpass1")
        db.session.commit()
        other = other_account.id
    deposit(app, other, amount="3")
    deposit(app, demo_id(app), amount="0.125")  # then one of its own, to look for what came before
    event = next_figures(reader)
    assert (event.json()["balance"], event.id) == balance_now(client)


def test_the_rows_read_together_are_the_rows_read_alone(app, demo):
    """The live wallet's two statements give WALLET_QUERY's rows, ledger included."""
    from dashboard.extensions import READS_BIND
    from dashboard.wallet import holdings

    account = demo_id(app)
    deposit(app, account, amount="0.5")  # a journal entry: its sequence number is in the ledger
    with app.app_context():
        with db.engines[READS_BIND].connect() as connection:
            together = holdings.read_holdings(connection, [account, 999_999])
            rates = holdings.read_currency_rates(connection)
        alone = holdings._read_wallet_rows(account)  # noqa: SLF001
    made = holdings.compose_wallet_rows(rates, together[account])
    assert made == alone and made.ledger == alone.ledger
    assert any(sequence for _code, sequence in made.ledger)
    assert together[999_999] == holdings.AccountHoldings((), ())


@pytest.fixture
def app_config():
    return {"STREAM_HEARTBEAT_SECONDS": 1}


def test_a_heartbeat_comment_keeps_an_idle_stream(app, client, signed_in_stream):
    reader = signed_in_stream
    next_figures(reader)
    said = reader.next(comments=True)
    assert said is not None and said.comment is not None and said.name is None
