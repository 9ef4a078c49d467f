"""The schema keeps money exact and non-negative on both databases, and migrations match the models."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from dashboard.accounts.store import create_account
from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.models import Balance, Currency, Rate

EXACT_VALUES = [
    "123456789012345678.123456789012345678",
    "99999999999999999999.999999999999999999",  # 20 integer digits, 18 fractional
    "1234567890123456789012.5",                 # 22 integer digits
    "0.000000000000000001",
    "0",
    "88.549",
    "1000000",
]


@pytest.fixture
def account_id(app):
    with app.app_context():
        account = create_account("exact@example.com", "password123")
        db.session.commit()
        return account.id


@pytest.mark.parametrize("literal", EXACT_VALUES)
def test_amounts_round_trip_exactly(app, account_id, literal):
    value = Decimal(literal)
    with app.app_context():
        db.session.add(Balance(account_id=account_id, currency_code="btc", available=value, in_use=value))
        db.session.commit()
        db.session.expunge_all()
        stored = db.session.execute(select(Balance.available, Balance.in_use)).one()
    assert stored == (value, value)
    assert all(isinstance(v, Decimal) for v in stored)
    assert plain(stored[0]) == (literal.rstrip("0").rstrip(".") if "." in literal else literal)


def test_rate_round_trip_and_time_zone(app):
    moment = datetime(2018, 1, 26, 23, 59, 59, tzinfo=timezone(timedelta(hours=9)))
    with app.app_context():
        db.session.add(Rate(currency_code="xem", jpy_rate=Decimal("88.549"), as_of=moment, source="press"))
        db.session.commit()
        db.session.expunge_all()
        rate = db.session.get(Rate, "xem")
    assert rate.jpy_rate == Decimal("88.549")
    assert rate.as_of == moment and rate.as_of.tzinfo is not None


@pytest.mark.parametrize("column", ["available", "in_use"])
def test_database_refuses_negative_balances(app, account_id, column):
    """The CHECK holds even for SQL that bypasses the ORM's own checks."""
    with app.app_context():
        statement = text("INSERT INTO balances (account_id, currency_code, available, in_use) VALUES (:a, 'btc', :x, :y)")
        values = {"available": ("-0.00000001", "0"), "in_use": ("0", "-5")}[column]
        with pytest.raises(IntegrityError):
            db.session.execute(statement, {"a": account_id, "x": values[0], "y": values[1]})
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Balance)) == 0


@pytest.mark.parametrize("rate", ["0", "-1"])
def test_database_refuses_non_positive_rates(app, rate):
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(
                text("INSERT INTO rates (currency_code, jpy_rate, as_of, source) VALUES ('btc', :r, :t, 'x')"),
                {"r": rate, "t": datetime(2026, 1, 1)},
            )
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Rate)) == 0


@pytest.mark.parametrize(
    "bad, error",
    [
        (Decimal("-1"), IntegrityError),
        (1.5, StatementError),                       # a float is refused before it reaches SQL
        ("abc", StatementError),
        (Decimal("NaN"), StatementError),
        (Decimal("0.0000000000000000001"), StatementError),   # 19 decimal places
        (Decimal("1" + "0" * 22), StatementError),           # 23 integer digits
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(app, account_id, bad, error):
    with app.app_context():
        db.session.add(Balance(account_id=account_id, currency_code="btc", available=bad, in_use=Decimal(0)))
        with pytest.raises(error):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Balance)) == 0


def test_email_is_unique_whatever_its_case(app):
    with app.app_context():
        create_account("Same@Example.com", "password123")
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(text("INSERT INTO accounts (email, password_hash, created_at, never_prompt_language, show_net_assets_in_header) VALUES ('SAME@example.com', 'x', CURRENT_TIMESTAMP, false, true)"))
        db.session.rollback()


def test_fourteen_currencies_are_seeded_in_order(app):
    with app.app_context():
        codes = db.session.execute(select(Currency.code).order_by(Currency.display_order)).scalars().all()
    assert codes == ["jpy", "btc", "eth", "etc", "lsk", "fct", "xmr", "rep", "xrp", "zec", "xem", "ltc", "dash", "bch"]


def test_migrations_match_the_models(app):
    """An autogenerate comparison between the migrated database and the models finds nothing."""
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
    assert differences == []
