"""The rate history: every route that writes a rate appends to it, the database refuses to
change or delete it, the closes agree with the ticks, and `rates as-of` reads it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dashboard.core.history import PERIODS, closes_at
from dashboard.extensions import db
from dashboard.ledger.demo import DEMO_RATES, seed_demo
from dashboard.ledger.demo_story import tick_demo_rates
from dashboard.ledger.rate_updates import import_rates, set_rate
from dashboard.ledger.rates import RateError
from dashboard.models import JournalEntry, RateClose, RateHistory, Trade, Transfer


def history(app):
    with app.app_context():
        return [(h.currency_code, h.jpy_rate, h.source) for h in db.session.execute(select(RateHistory).order_by(RateHistory.id)).scalars()]


def test_every_route_appends(app, runner):
    with app.app_context():
        set_rate("btc", "1000000", source="manual")
        import_rates(b"currency,jpy_rate\nxem,88.549\n", name="f.csv", zone="Asia/Tokyo")
        db.session.commit()
    assert runner.invoke(args=["rates", "set", "eth", "80000"]).exit_code == 0
    with app.app_context():
        import random
        tick_demo_rates(random.Random(1), {"lsk": Decimal(2200)})
        db.session.commit()
    rows = history(app)
    assert [(code, source.split()[0]) for code, _rate, source in rows] == [
        ("btc", "manual"), ("xem", "import"), ("eth", "manual"), ("lsk", "demo")]


def test_a_refused_rate_is_not_in_the_history(app):
    with app.app_context():
        set_rate("btc", "100")
        db.session.commit()
        with pytest.raises(RateError, match="newer"):
            set_rate("btc", "200", as_of=datetime.now(UTC) - timedelta(days=1))
        db.session.rollback()
    assert [rate for _c, rate, _s in history(app)] == [Decimal(100)]


@pytest.mark.parametrize("statement", ["UPDATE rate_history SET jpy_rate = 1", "DELETE FROM rate_history"])
def test_the_history_is_append_only(app, statement):
    with app.app_context():
        set_rate("btc", "100")
        db.session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert len(history(app)) == 1


def test_closes_hold_the_latest_tick_of_each_period(app):
    now = datetime.now(UTC)
    times = [now - timedelta(minutes=minutes) for minutes in (3000, 2000, 1441, 1440, 700, 61, 60, 59, 14, 1)]
    with app.app_context():
        for position, moment in enumerate(times):
            set_rate("btc", str(100 + position), as_of=moment)
        set_rate("btc", "999", as_of=times[-1])  # same moment, written later: it wins
        db.session.commit()
        ticks = db.session.execute(select(RateHistory).order_by(RateHistory.id)).scalars().all()
        for period in PERIODS:
            expected = {}
            for tick in ticks:
                expected[closes_at(tick.as_of, period)] = tick.jpy_rate
            stored = dict(db.session.execute(select(RateClose.closes_at, RateClose.jpy_rate).where(RateClose.period_seconds == period)).all())
            assert stored == expected, period


def test_rates_as_of_command(app, runner):
    with app.app_context():
        set_rate("btc", "100", as_of=datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
        set_rate("btc", "200", as_of=datetime(2026, 1, 2, 0, 0, tzinfo=UTC))
        set_rate("xem", "88.549", as_of=datetime(2026, 1, 3, 0, 0, tzinfo=UTC))
        db.session.commit()
    result = runner.invoke(args=["rates", "as-of", "2026-01-02T09:00"])  # Tokyo time: 00:00 UTC
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["currency,jpy_rate,as_of", "btc,200,2026-01-02T09:00:00+09:00"]
    assert "read as Asia/Tokyo" in result.stderr
    later = runner.invoke(args=["rates", "as-of", "2026-01-03T00:00:00Z"])
    assert later.stdout.splitlines()[1:] == ["btc,200,2026-01-02T09:00:00+09:00", "xem,88.549,2026-01-03T09:00:00+09:00"]


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "", "2026-01-01T25:00", "1e9"])
def test_rates_as_of_refuses_a_bad_timestamp(app, runner, bad):
    result = runner.invoke(args=["rates", "as-of", bad])
    assert result.exit_code == 2 and "TIMESTAMP" in result.output


def test_seed_demo_story_is_idempotent(app, runner):
    app.config["ENV_NAME"] = "development"  # seed-demo refuses elsewhere (tests/security)
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = (db.session.query(RateHistory).count(), db.session.query(JournalEntry).count(), db.session.query(RateClose).count())
        assert counts[0] > 365 * len(DEMO_RATES) and counts[1] > 20
        reasons = set(db.session.execute(select(JournalEntry.reason)).scalars())
        assert {"demo: deposit", "demo: withdrawal"} <= reasons
        # The story's trades are fills (dashboard/ledger/fills.py), at the demo's rates of their day.
        assert any(reason.startswith("trade demo-") for reason in reasons)
        assert db.session.query(Trade).count() > 10 and db.session.query(Transfer).count() == 1
    second = runner.invoke(args=["seed-demo"])
    assert "0 account(s) created, 0 balance(s) set, 0 rate(s) added, 0 journal entries and 0 past rate(s)" in second.output
    with app.app_context():
        assert (db.session.query(RateHistory).count(), db.session.query(JournalEntry).count(), db.session.query(RateClose).count()) == counts
    assert runner.invoke(args=["balances", "verify"]).exit_code == 0


def test_the_demo_story_is_deterministic(app):
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with app.app_context():
        seed_demo(now=now, story=True)
        first = db.session.execute(select(RateHistory.currency_code, RateHistory.jpy_rate, RateHistory.as_of)
                                   .order_by(RateHistory.id)).all()
    from conftest import empty_tables
    empty_tables(app)
    with app.app_context():
        seed_demo(now=now, story=True)
        again = db.session.execute(select(RateHistory.currency_code, RateHistory.jpy_rate, RateHistory.as_of)
                                   .order_by(RateHistory.id)).all()
    assert first == again


def test_the_demo_ticker_is_for_development_only(app, runner):
    app.config["TESTING"] = False
    result = runner.invoke(args=["demo-ticker", "--max-runs", "1"])
    assert result.exit_code == 1 and "DASHBOARD_ENV=development" in result.output


def test_the_demo_ticker_moves_the_rates(app, runner, demo):
    result = runner.invoke(args=["demo-ticker", "--every", "1", "--max-runs", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        demo_ticks = db.session.query(RateHistory).filter(RateHistory.source == "demo").count()
    assert demo_ticks == 3 * len(DEMO_RATES)
