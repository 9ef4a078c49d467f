"""The batch ledger (dashboard/ledger/batches.py), on SQLite and PostgreSQL alike: balances locked
against every other writer until the batch commits, each change journalled once and numbered and
timed after its balance's last entry, the figures checked as changes.py checks them."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError

from dashboard.extensions import db
from dashboard.ledger.batches import Figures, lock_many, recorded_keys, write_locked
from dashboard.ledger.changes import BalanceChange, LedgerError, check_figures
from dashboard.ledger.journal import verify
from dashboard.ledger.reasons import Reason, compensation
from dashboard.models import Account, Balance, JournalEntry, utcnow


@pytest.fixture
def ids(app) -> list[int]:
    with app.app_context():
        accounts = [Account(email=f"holder{n}@example.com", password_hash="!") for n in range(3)]
        db.session.add_all(accounts)
        db.session.commit()
        return [account.id for account in accounts]


def entries(app) -> list[JournalEntry]:
    with app.app_context():
        rows = list(db.session.execute(select(JournalEntry).order_by(JournalEntry.account_id, JournalEntry.currency_code,
                                                                     JournalEntry.sequence)).scalars())
        db.session.expunge_all()
        return rows


def other_writer(app):
    """A second connection that gives up at once when it has to wait for a lock."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 0})
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def no_waiting(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
    return engine


def test_a_batch_holds_its_balances_against_any_other_writer_until_it_commits(app, ids):
    first = ids[0]
    engine = other_writer(app)
    statement = text("UPDATE balances SET available = available WHERE account_id = :account AND currency_code = 'jpy'")
    with app.app_context():
        # Both balances exist, so the batch has nothing to create: reading them must lock them.
        db.session.add_all([Balance(account_id=first, currency_code="jpy", available=Decimal(7), in_use=Decimal(0)),
                            Balance(account_id=first, currency_code="xem", available=Decimal(1), in_use=Decimal(0))])
        db.session.commit()
        locked = lock_many({(first, "jpy"), (first, "xem")})
        assert locked == {(first, "jpy"): Figures(Decimal(7), Decimal(0)), (first, "xem"): Figures(Decimal(1), Decimal(0))}
        with pytest.raises(OperationalError) as waited, engine.begin() as connection:
            connection.execute(statement, {"account": first})
        assert isinstance(waited.value.orig, sqlite3.OperationalError) or waited.value.orig.sqlstate == "55P03"  # lock_not_available
        db.session.commit()
        with engine.begin() as connection:
            assert connection.execute(statement, {"account": first}).rowcount == 1
    engine.dispose()


def test_each_change_is_journalled_after_its_balances_last_entry_and_verify_holds(app, ids):
    first, second, third = ids
    ahead = utcnow() + timedelta(minutes=5)  # another server's clock, a little ahead
    with app.app_context():
        db.session.add_all([
            Balance(account_id=first, currency_code="xem", available=Decimal("10000.5"), in_use=Decimal(2)),
            Balance(account_id=second, currency_code="jpy", available=Decimal(500), in_use=Decimal(0)),
            JournalEntry(account_id=first, currency_code="xem", sequence=1, available_before=0, in_use_before=0,
                         available_after=Decimal("10000.5"), in_use_after=Decimal(2), reason="balance import", source="test",
                         effective_at=utcnow() - timedelta(days=1)),
            JournalEntry(account_id=second, currency_code="jpy", sequence=1, available_before=0, in_use_before=0,
                         available_after=Decimal(500), in_use_after=Decimal(0), reason="balance import", source="test",
                         effective_at=ahead),
        ])
        db.session.commit()
        pairs = {(first, "xem"), (first, "jpy"), (second, "jpy"), (third, "jpy")}
        locked = lock_many(pairs)
        paid = compensation("xem", "NEM", Decimal("88.549"), Decimal("10000.5"))
        changes = [
            BalanceChange(first, "xem", Decimal(0), Decimal("2.000000"), key="k:first:xem", reason=paid),
            BalanceChange(first, "jpy", Decimal(885534), Decimal(0), key="k:first:jpy", reason=paid),
            BalanceChange(second, "jpy", Decimal(501), Decimal(0), key="k:second:jpy", reason=Reason("an operator's <words>")),
            BalanceChange(third, "jpy", Decimal(0), Decimal(0), key="k:third:jpy", reason=paid),  # as it is: no entry
        ]
        assert write_locked(changes, locked, source="batch test") == 3
        assert locked[first, "xem"] == Figures(Decimal(0), Decimal(2))
        assert recorded_keys(["k:first:xem", "k:second:jpy", "k:third:jpy", "k:nowhere"]) == {"k:first:xem", "k:second:jpy"}
        db.session.commit()
        assert verify()[2] == []
    written = {(entry.account_id, entry.currency_code, entry.sequence): entry for entry in entries(app) if entry.source == "batch test"}
    assert sorted(written) == [(first, "jpy", 1), (first, "xem", 2), (second, "jpy", 2)]
    xem = written[first, "xem", 2]
    assert (xem.available_before, xem.in_use_before, xem.available_after, xem.in_use_after) == (
        Decimal("10000.5"), Decimal(2), Decimal(0), Decimal(2))
    assert (xem.reason, xem.reason_code, xem.idempotency_key) == ("NEM compensation: JPY 88.549 x 10000.5 XEM", "compensation", "k:first:xem")
    assert xem.reason_params == {"currency": "xem", "name": "NEM", "rate": "88.549", "quantity": "10000.5"}
    assert written[first, "jpy", 1].reason_params == xem.reason_params
    operator = written[second, "jpy", 2]
    assert (operator.reason, operator.reason_code, operator.reason_params) == ("an operator's <words>", None, None)
    # After an entry dated ahead of this clock, the next takes effect with it, never before it.
    assert operator.effective_at == ahead
    assert xem.effective_at == xem.recorded_at <= ahead


def test_a_batch_changes_each_balance_once_and_checks_every_figure(app, ids):
    first = ids[0]
    with app.app_context():
        locked = lock_many({(first, "xem")})
        twice = [BalanceChange(first, "xem", Decimal(1), Decimal(0)), BalanceChange(first, "xem", Decimal(2), Decimal(0))]
        with pytest.raises(LedgerError, match="at most once"):
            write_locked(twice, locked, source="test")
        with pytest.raises(LedgerError, match=r"xem available has more than 6 decimal places \(0.1234567\)"):
            write_locked([BalanceChange(first, "xem", Decimal("0.1234567"), Decimal(0))], locked, source="test")
        with pytest.raises(LedgerError, match="in use would be negative"):
            write_locked([BalanceChange(first, "xem", Decimal(0), Decimal(-1))], locked, source="test")
        db.session.rollback()
    assert entries(app) == []


@pytest.mark.parametrize("figure, accepted", [
    (Decimal("1.500000000000000000"), True),   # as PostgreSQL pads NUMERIC(40, 18): still 1.5
    (Decimal("0.000001"), True),
    (Decimal("1E+3"), True),
    (Decimal("0.0000015"), False),
    (Decimal("0.000001000000000001"), False),
])
def test_decimal_places_are_counted_without_trailing_zeros(figure, accepted):
    change = BalanceChange(1, "xem", figure, Decimal(0))
    if accepted:
        check_figures(change, {"xem": 6})
    else:
        with pytest.raises(LedgerError, match="more than 6 decimal places"):
            check_figures(change, {"xem": 6})
