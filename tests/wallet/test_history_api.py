"""/api/history against a brute-force computation on random journals and rate histories, on
SQLite and PostgreSQL; its last point against /api/balance; and its refusals."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from conftest import empty_tables, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dashboard.accounts.store import create_account
from dashboard.core.history import index_of
from dashboard.extensions import db
from dashboard.language.i18n import LANGUAGE_COOKIE
from dashboard.ledger.changes import BalanceChange, record_changes
from dashboard.ledger.demo import seed_demo
from dashboard.ledger.journal import holdings_as_of
from dashboard.ledger.rate_history import rates_as_of
from dashboard.ledger.rate_updates import store_rate
from dashboard.models import RateHistory

EMAIL, PASSWORD = "history@example.com", "history-pass"
SPAN = {"1d": timedelta(days=1), "1w": timedelta(weeks=1), "1m": timedelta(days=30)}
figures = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)
rate_values = st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw):
    range_name = draw(st.sampled_from(sorted(SPAN)))
    # Offsets before now as fractions of the range, some before its start (carried in).
    offset = st.floats(min_value=0.001, max_value=1.3).map(lambda share: SPAN[range_name] * share)
    journal = {}
    for code in draw(st.sets(st.sampled_from(["jpy", "btc", "xem"]), min_size=1)):
        amount = figures.map(lambda value: value.quantize(Decimal(1))) if code == "jpy" else figures  # yen have no decimals
        journal[code] = sorted(draw(st.lists(st.tuples(offset, amount, amount), max_size=4)), key=lambda e: -e[0].total_seconds())
    ticks = {code: sorted(draw(st.lists(st.tuples(offset, rate_values), max_size=5)), key=lambda e: -e[0].total_seconds())
             for code in draw(st.sets(st.sampled_from(["btc", "xem", "eth"])))}
    return range_name, journal, ticks


def write(scenario, now):
    _range, journal, ticks = scenario
    account = create_account(EMAIL, PASSWORD)
    for code, entries in journal.items():
        for position, (before, available, in_use) in enumerate(entries):
            record_changes([BalanceChange(account.id, code, available, in_use, key=f"{code}{position}")],
                           reason="test", source="test", at=now - before)
    for code, series in ticks.items():
        for before, rate in series:
            store_rate(code, rate, as_of=now - before, source="test")
    db.session.commit()


def all_ticks() -> list[RateHistory]:
    return db.session.execute(select(RateHistory).order_by(RateHistory.id)).scalars().all()


def brute_force(moment: datetime, history: list[RateHistory]) -> tuple[Fraction, bool]:
    """Σ balances as of moment (the journal) × the latest tick at or before it (every tick read)."""
    total, complete = Fraction(0), True
    for holding in holdings_as_of(moment):
        if holding.email != EMAIL or not (holding.available or holding.in_use):
            continue
        if holding.currency == "jpy":
            rate = Decimal(1)
        else:
            earlier = [tick for tick in history if tick.currency_code == holding.currency and tick.as_of <= moment]
            rate = max(earlier, key=lambda tick: (tick.as_of, tick.id)).jpy_rate if earlier else None
        if rate is None:
            complete = False
        else:
            total += (Fraction(holding.available) + Fraction(holding.in_use)) * Fraction(rate)
    return total, complete


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_history_equals_balances_as_of_times_rates_as_of(app, client, scenario):
    empty_tables(app)
    now = datetime.now(UTC)
    with app.app_context():
        write(scenario, now)
    sign_in(client, EMAIL, PASSWORD)
    body = client.get(f"/api/history?range={scenario[0]}").get_json()
    balance = client.get("/api/balance").get_json()
    assert body["range"] == scenario[0]
    points = body["points"]
    assert points[-1]["jpy"] == balance["net_assets"]["jpy"]
    assert points[-1]["formatted"] == balance["net_assets"]["formatted"]
    complete = True
    with app.app_context():
        history = all_ticks()
        for point in points[:-1]:
            moment = datetime.fromisoformat(point["t"])
            expected, point_complete = brute_force(moment, history)
            assert Fraction(Decimal(point["jpy"])) == expected, point
            complete = complete and point_complete
        # And the moment of the last point, valued from the history alone, is the wallet's figure.
        last, last_complete = brute_force(datetime.fromisoformat(points[-1]["t"]), history)
        assert Fraction(Decimal(points[-1]["jpy"])) == last
    assert body["complete"] == (complete and last_complete and balance["complete"])
    times = [datetime.fromisoformat(point["t"]) for point in points]
    assert times == sorted(times) and all(moment.utcoffset() is not None for moment in times)
    # The past points' indices are kept and now's is made alone: together, index_of of them all.
    expected_index = index_of([Decimal(point["jpy"]) for point in points])
    assert [point["index"] for point in points] == [None if index is None else format(index, "f") for index in expected_index]
    client.post("/logout")


def forget_history() -> None:
    from dashboard.ledger import net_asset_history
    from dashboard.wallet import history

    history._PAST_POINTS.clear()
    net_asset_history._RATE_STEPS.clear()


def test_kept_points_answer_as_computed_afresh(app, client):
    """The past points, their indices and their rows are kept per language and discreet switch:
    every answer, whatever was asked before it, is what a computation from nothing gives."""
    with app.app_context():
        seed_demo(story=True)
    sign_in(client)
    asked = [("en", False, "1y"), ("ja", False, "1y"), ("en", True, "1y"), ("ja", True, "1y"), ("en", False, "1y"),
             ("ja", False, "1m"), ("en", True, "1m")]

    def ask(language, discreet, range_name):
        client.set_cookie(LANGUAGE_COOKIE, language)
        client.post("/api/preferences", json={"discreet": discreet})
        body = client.get(f"/api/history?range={range_name}").get_json()
        body["points"][-1].pop("t")  # now, a moment later each time
        return body

    kept = [ask(*question) for question in asked]
    fresh = []
    for question in asked:
        forget_history()
        fresh.append(ask(*question))
    assert kept == fresh
    assert kept[2]["points"][0]["jpy"] is None and kept[0]["points"][0]["jpy"] is not None
    assert kept[0]["points"][0]["index"] == kept[2]["points"][0]["index"] is not None


def test_the_past_indices_follow_now_when_every_past_point_is_zero(app):
    """With nothing held before the last boundary, now is the index's base: the past's indices
    are None while now is zero too, else 0.0, and the kept rows follow."""
    from dashboard.wallet.history import history_document, net_asset_history

    boundary = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    now = boundary + timedelta(minutes=5)
    with app.app_context():
        account = create_account(EMAIL, PASSWORD)
        record_changes([BalanceChange(account.id, "jpy", Decimal(500), Decimal(0))], reason="test", source="test",
                       at=boundary + timedelta(minutes=1))
        db.session.commit()

        def indices(now_jpy):
            history = net_asset_history(account.id, "1d", now_jpy=now_jpy, now_missing=(), currencies=("jpy",), now=now)
            document = history_document(history, locale="en", zone="Asia/Tokyo", discreet=False)
            assert [point["index"] for point in document["points"]] == [None if i is None else format(i, "f") for i in history.index]
            return [point["index"] for point in document["points"]]

        assert indices(Decimal(0)) == [None] * 97
        assert indices(Decimal(500)) == ["0.0"] * 96 + ["100.0"]
        assert indices(Decimal(0)) == [None] * 97


def test_the_past_points_are_kept_across_what_is_written_after_the_last_boundary(app):
    """A tick or an entry after the range's last boundary (as nearly all are: now) keeps the
    past points; one at or before it makes them again; either way they are what a computation
    from nothing gives. With READ_CACHE_SECONDS = 0 nothing is kept."""
    from dashboard.wallet.history import net_asset_history

    app.config["READ_CACHE_SECONDS"] = 60
    boundary = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    now = boundary + timedelta(minutes=5)
    with app.app_context():
        account = create_account(EMAIL, PASSWORD)
        record_changes([BalanceChange(account.id, "btc", Decimal(2), Decimal(0)),
                        BalanceChange(account.id, "xem", Decimal(10), Decimal(0))],
                       reason="test", source="test", at=boundary - timedelta(hours=3))
        store_rate("btc", Decimal(100), as_of=boundary - timedelta(hours=5), source="test")
        store_rate("xem", Decimal(5), as_of=boundary - timedelta(hours=5), source="test")
        db.session.commit()

        def history():
            return net_asset_history(account.id, "1d", now_jpy=Decimal(0), now_missing=(), currencies=("jpy", "btc", "xem"), now=now)

        def fresh():
            forget_history()
            return history()

        def write(at, *, rate=None, entry=None):
            if rate:
                store_rate(rate[0], rate[1], as_of=at, source="test")
            if entry:
                record_changes([BalanceChange(account.id, entry[0], entry[1], Decimal(0))], reason="test", source="test", at=at)
            db.session.commit()

        before = history()
        assert before.points[-2].jpy == Decimal(250)  # 2 × 100 + 10 × 5 at the last boundary
        write(boundary + timedelta(minutes=2), rate=("btc", Decimal(300)), entry=("btc", Decimal(3)))
        kept = history()
        assert kept.past is before.past and kept.points == fresh().points
        write(boundary - timedelta(hours=1), rate=("xem", Decimal(7)))  # as of a moment before the last boundary
        made = history()
        assert made.past is not kept.past and made.points[-2].jpy == Decimal(270) and made.points == fresh().points
        assert history().past is history().past
        write(boundary - timedelta(minutes=30), entry=("jpy", Decimal(1000)))
        made_again = history()
        assert made_again.points[-2].jpy == Decimal(1270) and made_again.points == fresh().points
        app.config["READ_CACHE_SECONDS"] = 0
        assert history().past is not history().past


def test_rates_as_of_is_the_latest_tick_at_or_before(app):
    now = datetime.now(UTC)
    with app.app_context():
        store_rate("btc", Decimal("100"), as_of=now - timedelta(hours=3), source="a")
        store_rate("btc", Decimal("200"), as_of=now - timedelta(hours=2), source="b")
        store_rate("btc", Decimal("300"), as_of=now - timedelta(hours=2), source="c")  # same moment, written later
        store_rate("xem", Decimal("88.549"), as_of=now - timedelta(hours=1), source="d")
        db.session.commit()
        assert rates_as_of(now - timedelta(hours=4)) == []
        assert [(r.currency, r.jpy_rate) for r in rates_as_of(now - timedelta(hours=3))] == [("btc", Decimal(100))]
        assert [(r.currency, r.jpy_rate) for r in rates_as_of(now)] == [("btc", Decimal(300)), ("xem", Decimal("88.549"))]


def test_history_index_and_format(app, signed_in):
    body = signed_in.get("/api/history?range=1d").get_json()
    assert set(body) == {"range", "complete", "points"}
    assert all(set(point) == {"t", "jpy", "formatted", "index"} for point in body["points"])
    assert body["points"][-1]["index"] is not None


def test_history_in_japanese_formats_as_the_page(app, signed_in):
    signed_in.set_cookie(LANGUAGE_COOKIE, "ja")
    japanese = signed_in.get("/api/history?range=1d", headers={"Accept-Language": "ja"}).get_json()
    balance = signed_in.get("/api/balance", headers={"Accept-Language": "ja"}).get_json()
    assert japanese["points"][-1]["formatted"] == balance["net_assets"]["formatted"]


@pytest.mark.parametrize("query", ["", "?range=", "?range=2y", "?range=1D", "?range=all%00", "?range=" + "x" * 5000,
                                   "?range=1d&range=1w", "?range=%ff"])
def test_a_bad_range_is_a_clear_400(app, signed_in, query):
    response = signed_in.get("/api/history" + query)
    if query == "?range=1d&range=1w":  # the first value counts, as for every query parameter
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert "1d, 1w, 1m, 1y or all" in response.get_json()["error"]


def test_bad_range_message_is_translated(app, signed_in):
    signed_in.set_cookie(LANGUAGE_COOKIE, "ja")
    response = signed_in.get("/api/history?range=5y")
    assert response.status_code == 400 and "期間" in response.get_json()["error"]


def test_history_needs_sign_in(app, client):
    response = client.get("/api/history?range=1d")
    assert response.status_code == 401 and response.is_json
