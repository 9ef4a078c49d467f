"""The signed-in request path: reads without a transaction, and figures memoised between
requests only for as long as what they are made from is unchanged."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, text

from dashboard.extensions import READS_BIND, db
from dashboard.models import Account, Balance, LoginSession, Rate
from dashboard.read_path.signed_in import SignedInAccount, load_signed_in, read_connection
from dashboard.wallet import holdings

MAX_AGE = timedelta(minutes=10)


def demo_id() -> int:
    return db.session.execute(select(Account.id).where(Account.email == "demo@example.com")).scalar_one()


def in_transaction(connection) -> bool:
    raw = connection.connection.dbapi_connection
    if hasattr(raw, "in_transaction"):  # sqlite3
        return raw.in_transaction
    from psycopg.pq import TransactionStatus

    return raw.info.transaction_status != TransactionStatus.IDLE


def test_reads_open_no_transaction(app, demo):
    with app.app_context():
        connection = read_connection()
        assert connection is read_connection()  # one per request
        connection.execute(text("SELECT 1")).one()
        assert not in_transaction(connection)
        rows = holdings.wallet_rows(demo_id())
        assert len(rows) == 14 and not in_transaction(connection)


def test_the_read_connection_is_returned_at_the_end_of_the_request(app, demo):
    with app.app_context():
        pool = db.engines[READS_BIND].pool
        read_connection().execute(text("SELECT 1"))
        checked_out = pool.checkedout()
        assert checked_out >= 1
    assert pool.checkedout() == checked_out - 1


def test_the_request_account_is_a_snapshot_read_by_its_session_token(app, demo):
    token = "t" * 43
    with app.app_context():
        db.session.add(LoginSession(token_hash=LoginSession.hash_token(token), account_id=demo_id()))
        db.session.commit()
        account = load_signed_in(token)
        assert isinstance(account, SignedInAccount) and not isinstance(account, Account)
        assert (account.id, account.email, account.show_net_assets_in_header) == (demo_id(), "demo@example.com", True)
        assert account.get_id() == token  # the cookie names the session, not the account
        assert load_signed_in("u" * 43) is None
        assert load_signed_in("") is None and load_signed_in(token + "x" * 200) is None


def test_a_setting_changed_through_the_api_is_read_back_on_the_next_request(app, signed_in):
    assert signed_in.post("/api/preferences", json={"show_in_header": False}).status_code == 200
    assert signed_in.get("/api/balance").get_json()["show_in_header"] is False
    with app.app_context():
        assert db.session.execute(select(Account.show_net_assets_in_header)).scalar_one() is False


def test_a_memoised_document_is_the_same_as_a_fresh_one(app, demo):
    now = datetime.now(UTC)
    with app.app_context():
        holdings._DOCUMENTS.clear()
        first = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE, now=now)
        again = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE, now=now)
        assert again is first  # the memo answered
        holdings._DOCUMENTS.clear()
        fresh = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE, now=now)
        assert fresh == first and fresh is not first


def test_a_changed_balance_is_shown_at_once(app, demo):
    with app.app_context():
        before = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE)
        balance = db.session.execute(select(Balance).where(Balance.account_id == demo_id(), Balance.currency_code == "xem")).scalar_one()
        balance.in_use += Decimal("0.000001")
        db.session.commit()
        after = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE)
    xem = next(row for row in after["balances"] if row["currency"] == "xem")
    old = next(row for row in before["balances"] if row["currency"] == "xem")
    assert Decimal(xem["in_use"]) == Decimal(old["in_use"]) + Decimal("0.000001")
    assert Decimal(after["net_assets"]["jpy"]) == Decimal(before["net_assets"]["jpy"]) + Decimal("0.000001") * Decimal(xem["rate_jpy"])


def test_a_changed_rate_is_shown_at_once(app, demo):
    with app.app_context():
        before = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE)
        db.session.get(Rate, "btc").jpy_rate = Decimal("1234567.891")
        db.session.commit()
        after = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE)
    assert after["net_assets"] != before["net_assets"]
    assert next(row for row in after["balances"] if row["currency"] == "btc")["rate_jpy"] == "1234567.891"


def test_the_same_rows_turn_stale_as_time_passes(app, demo):
    with app.app_context():
        as_of = max(rate.as_of for rate in db.session.execute(select(Rate)).scalars())
        fresh = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE, now=as_of + timedelta(minutes=1))
        later = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE, now=as_of + timedelta(minutes=11))
    assert fresh["stale"] is False and later["stale"] is True
    assert any(row["stale"] for row in later["balances"]) and not any(row["stale"] for row in fresh["balances"])


def test_each_language_and_zone_has_its_own_document(app, demo):
    with app.app_context():
        english = holdings.wallet_document(demo_id(), locale="en", zone="Asia/Tokyo", max_age=MAX_AGE)
        japanese = holdings.wallet_document(demo_id(), locale="ja", zone="Asia/Tokyo", max_age=MAX_AGE)
        utc = holdings.wallet_document(demo_id(), locale="en", zone="UTC", max_age=MAX_AGE)
    assert english["locale"] == "en" and japanese["locale"] == "ja"
    assert english["rates_as_of_formatted"] != japanese["rates_as_of_formatted"]
    assert english["rates_as_of_formatted"] != utc["rates_as_of_formatted"]
