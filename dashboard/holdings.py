"""Loads one account's balances and the current rates in a single query and values them;
the wallet page, /api/balance and the exchange-compatible API all read balances this way."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, bindparam, select

from .extensions import db
from .models import Balance, Currency, Rate
from .valuation import Holding, Rate as RateInput, Valuation, value_holdings

# Built once, on the tables rather than the mapped classes: constructing a select() per request,
# and the ORM's per-statement bookkeeping for what are plain columns, were a fifth of a request.
_currencies, _balances, _rates = Currency.__table__.c, Balance.__table__.c, Rate.__table__.c
WALLET_QUERY = (
    select(_currencies.code, _currencies.decimals, _balances.available, _balances.in_use, _rates.jpy_rate, _rates.as_of)
    .select_from(Currency.__table__)
    .outerjoin(Balance.__table__, and_(_balances.currency_code == _currencies.code, _balances.account_id == bindparam("account_id")))
    .outerjoin(Rate.__table__, _rates.currency_code == _currencies.code)
    .where(_currencies.enabled.is_(True))
    .order_by(_currencies.display_order, _currencies.code)
)


ZERO = Decimal(0)


def wallet_rows(account_id: int) -> Iterator[tuple[str, int, Decimal, Decimal, Decimal | None, datetime | None]]:
    """(code, decimals, available, in use, JPY rate, rate's time) for every enabled currency in
    display order, zero where the account has no balance row: one query whatever the number
    of currencies."""
    for code, decimals, available, in_use, jpy_rate, as_of in db.session.connection().execute(WALLET_QUERY, {"account_id": account_id}):
        yield code, decimals, ZERO if available is None else available, ZERO if in_use is None else in_use, jpy_rate, as_of


def load_valuation(account_id: int, *, now: datetime | None = None) -> Valuation:
    """The account's wallet valued at the current rates."""
    holdings, rates = [], {}
    for code, decimals, available, in_use, jpy_rate, as_of in wallet_rows(account_id):
        holdings.append(Holding(code, decimals, available, in_use))
        if jpy_rate is not None:
            rates[code] = RateInput(jpy_rate, as_of)
    return value_holdings(
        holdings,
        rates,
        now=now or datetime.now(timezone.utc),
        max_age=current_app.config["RATE_MAX_AGE"],
    )
