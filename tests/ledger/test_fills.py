"""`flask trades import` and `flask transfers import`: fills change both balances through the
ledger with journal entries pointing at them, rounded as an exchange rounds, once only; a bad
file or a fill the balances cannot pay is refused whole."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.ledger.journal import verify
from dashboard.models import Account, Balance, JournalEntry, Trade, Transfer

TRADES = "email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency\n"
TRANSFERS = "email,transfer_id,at,currency,direction,quantity\n"


@pytest.fixture
def funded(app, runner):
    """alice with 1,000,000 yen; bob with nothing."""
    with app.app_context():
        db.session.add_all([Account(email="alice@example.com", password_hash="!"), Account(email="bob@example.com", password_hash="!")])
        db.session.commit()
    result = runner.invoke(args=["balances", "import", "-", "--as-of", "2017-01-01T00:00:00+09:00"],
                           input="email,currency,available,in_use\nalice@example.com,jpy,1000000,0\n")
    assert result.exit_code == 0, result.output


def balances(app, email: str) -> dict[str, tuple[D, D]]:
    with app.app_context():
        rows = db.session.execute(select(Balance.currency_code, Balance.available, Balance.in_use)
                                  .join(Account).where(Account.email == email)).all()
        return {code: (available, in_use) for code, available, in_use in rows if available or in_use}


def test_fills_change_both_balances_rounded_as_an_exchange_rounds(app, runner, funded):
    data = TRADES + (
        # 0.12345678 × 1,000,001 = 123,456.90345678 → pays 123,457 plus a 100-yen fee
        "alice@example.com,T1,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.12345678,1000001,100,jpy\n"
        # 0.1 × 1,200,000.55 = 120,000.055 → receives 120,000; a fee of 0.0001 BTC on top
        "alice@example.com,T2,2017-04-01T10:00:00+09:00,BTC_JPY,Sell,0.1,1200000.55,0.0001,btc\n"
    )
    result = runner.invoke(args=["trades", "import", "-"], input=data)
    assert result.exit_code == 0, result.output
    assert "2 fill(s) applied, 0 already recorded" in result.output
    assert balances(app, "alice@example.com") == {
        "jpy": (D("1000000") - D("123557") + D("120000"), D(0)),
        "btc": (D("0.12345678") - D("0.1") - D("0.0001"), D(0)),
    }
    with app.app_context():
        keys = set(db.session.execute(select(JournalEntry.idempotency_key).where(JournalEntry.idempotency_key.like("trade:%"))).scalars())
        assert keys == {"trade:T1:jpy", "trade:T1:btc", "trade:T2:jpy", "trade:T2:btc"}
        trade = db.session.execute(select(Trade).where(Trade.trade_id == "T1")).scalar_one()
        assert (trade.jpy, trade.side, trade.currency_code) == (D("123457"), "buy", "btc")
        assert db.session.execute(select(Trade.jpy).where(Trade.trade_id == "T2")).scalar_one() == D("120000")
        assert verify()[2] == []
    # Applied again: nothing changes.
    again = runner.invoke(args=["trades", "import", "-"], input=data)
    assert again.exit_code == 0 and "0 fill(s) applied, 2 already recorded" in again.output
    assert balances(app, "alice@example.com")["jpy"] == (D("996443"), D(0))


def test_a_bad_trade_file_is_refused_whole_every_bad_line_named(app, runner, funded):
    data = TRADES + (
        "alice@example.com,G1,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,0,jpy\n"  # good
        "nobody@example.com,B2,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,0,jpy\n"
        "alice@example.com,B3,yesterday,btc_jpy,buy,0.1,1000000,0,jpy\n"
        "alice@example.com,B4,2017-03-01T10:00:00+09:00,jpy_btc,buy,0.1,1000000,0,jpy\n"
        "alice@example.com,B5,2017-03-01T10:00:00+09:00,btc_jpy,hold,0.1,1000000,0,jpy\n"
        "alice@example.com,B6,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.123456789,1000000,0,jpy\n"
        "alice@example.com,B7,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,-5,0,jpy\n"
        "alice@example.com,B8,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,1,eth\n"
        "alice@example.com,G1,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,0,jpy\n"
        "alice@example.com,B10,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,0.1,btc\n"
        "alice@example.com,B11,2999-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,0,jpy\n"
        "alice@example.com,B12,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.1,1000000,0.5,jpy\n"
    )
    result = runner.invoke(args=["trades", "import", "-"], input=data)
    assert result.exit_code == 1
    for line in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
        assert f"line {line}:" in result.output, (line, result.output)
    assert "line 2:" not in result.output
    assert "nothing imported: 11 problem(s)" in result.output
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Trade)).scalar() == 0
    assert balances(app, "alice@example.com") == {"jpy": (D("1000000"), D(0))}


def test_a_fill_the_balance_cannot_pay_refuses_the_whole_file(app, runner, funded):
    data = TRADES + (
        "alice@example.com,P1,2017-03-01T10:00:00+09:00,btc_jpy,buy,0.5,1000000,0,jpy\n"
        "alice@example.com,P2,2017-03-02T10:00:00+09:00,btc_jpy,buy,0.5,1000000,1,jpy\n"  # 1 yen short
    )
    result = runner.invoke(args=["trades", "import", "-"], input=data)
    assert result.exit_code == 1
    assert "line 3:" in result.output and "negative" in result.output
    assert balances(app, "alice@example.com") == {"jpy": (D("1000000"), D(0))}
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Trade)).scalar() == 0
    # Selling what one does not hold is refused the same way.
    sell = runner.invoke(args=["trades", "import", "-"],
                         input=TRADES + "bob@example.com,S1,2017-03-01T10:00:00+09:00,xem_jpy,sell,1,100,0,jpy\n")
    assert sell.exit_code == 1 and "line 2:" in sell.output


def test_transfers_move_crypto_in_and_out_once(app, runner, funded):
    data = TRANSFERS + (
        "bob@example.com,D1,2017-02-01T00:00:00+09:00,xem,in,1000.5\n"
        "bob@example.com,W1,2017-02-02T00:00:00+09:00,xem,out,400\n"
    )
    result = runner.invoke(args=["transfers", "import", "-"], input=data)
    assert result.exit_code == 0, result.output
    assert balances(app, "bob@example.com") == {"xem": (D("600.5"), D(0))}
    assert "0 transfer(s) applied, 2 already recorded" in runner.invoke(args=["transfers", "import", "-"], input=data).output
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Transfer)).scalar() == 2
        entry = db.session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == "transfer:W1")).scalar_one()
        assert (entry.reason_code, entry.reason_params["direction"]) == ("transfer", "out")
    bad = runner.invoke(args=["transfers", "import", "-"], input=TRANSFERS + (
        "bob@example.com,X1,2017-03-01T00:00:00+09:00,jpy,in,1\n"
        "bob@example.com,X2,2017-03-01T00:00:00+09:00,xem,sideways,1\n"
        "bob@example.com,X3,2017-03-01T00:00:00+09:00,xem,out,100000\n"))
    assert bad.exit_code == 1
    assert "line 2:" in bad.output and "line 3:" in bad.output
    assert balances(app, "bob@example.com") == {"xem": (D("600.5"), D(0))}
