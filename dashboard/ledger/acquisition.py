"""An account's acquisitions and disposals as core/cost_basis events, read from its fills, its
transfers and its compensations; and the figures of its annual transaction report (年間取引報告書)."""
from __future__ import annotations

import decimal
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, func, select, type_coerce

from dashboard.core.cost_basis import MOVE_IN, MOVE_OUT, SELL, Event, Year, cover_shortfalls, years
from dashboard.core.fills import Fill
from dashboard.extensions import db
from dashboard.ledger.reasons import COMPENSATION
from dashboard.models import Currency, JournalEntry, RateClose, Trade, Transfer

JPY = "jpy"
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_ZERO = Decimal(0)
_trades, _transfers, _journal = Trade.__table__.c, Transfer.__table__.c, JournalEntry.__table__.c


@dataclass
class Tally:
    """What the cost basis does not keep: the report's JPY before fees, and the fees."""

    bought_jpy: Decimal = _ZERO
    sold_jpy: Decimal = _ZERO
    fees_jpy: Decimal = _ZERO
    transferred_in: Decimal = _ZERO
    transferred_out: Decimal = _ZERO


@dataclass(frozen=True)
class CurrencyYear:
    currency: str
    year: Year
    tally: Tally
    opening_quantity: Decimal
    closing_quantity: Decimal


def account_events(account_id: int, zone: ZoneInfo) -> tuple[dict[str, list[Event]], dict[tuple[str, int], Tally]]:
    """currency → its events in time order (times in `zone`, whose calendar years are the tax's),
    and (currency, year) → the report's JPY before fees and fees. A compensation is a disposal
    at its rate (the NTA's FAQ on the NEM compensation). Units disposed of beyond what the fills
    and transfers brought (a balance set by an import) are taken as moved in just before, at no
    known cost (cost_basis.cover_shortfalls)."""
    events: dict[str, list[Event]] = defaultdict(list)
    tallies: dict[tuple[str, int], Tally] = defaultdict(Tally)
    rows = db.session.execute(
        select(_trades.currency_code, _trades.side, _raw(_trades.quantity), _raw(_trades.price), _raw(_trades.fee),
               _trades.fee_currency, _raw(_trades.jpy), _trades.executed_at)
        .where(_trades.account_id == account_id).order_by(_trades.executed_at, _trades.id))
    for code, side, quantity, price, fee, fee_currency, jpy, at in rows:
        quantity, price, fee, jpy = Decimal(quantity), Decimal(price), Decimal(fee), Decimal(jpy)
        at = at.astimezone(zone)
        fill = Fill(at, side, quantity, price, fee, fee_currency == JPY, jpy)
        events[code].append(fill.event())
        tally = tallies[code, at.year]
        if side == "buy":
            tally.bought_jpy = _EXACT.add(tally.bought_jpy, jpy)
        else:
            tally.sold_jpy = _EXACT.add(tally.sold_jpy, jpy)
        # A fee in units is valued at the fill's own price.
        tally.fees_jpy = _EXACT.add(tally.fees_jpy, fee if fee_currency == JPY else _EXACT.multiply(fee, price))
    for code, direction, quantity, at in db.session.execute(
            select(_transfers.currency_code, _transfers.direction, _transfers.quantity, _transfers.at)
            .where(_transfers.account_id == account_id).order_by(_transfers.at, _transfers.id)):
        at = at.astimezone(zone)
        events[code].append(Event(at, MOVE_IN if direction == "in" else MOVE_OUT, quantity))
        tally = tallies[code, at.year]
        if direction == "in":
            tally.transferred_in = _EXACT.add(tally.transferred_in, quantity)
        else:
            tally.transferred_out = _EXACT.add(tally.transferred_out, quantity)
    for code, params, at in db.session.execute(
            select(_journal.currency_code, _journal.reason_params, _journal.effective_at)
            .where(_journal.account_id == account_id, _journal.reason_code == COMPENSATION).order_by(_journal.id)):
        if not params or params.get("currency") != code:
            continue  # the JPY side of a compensation
        quantity, rate = Decimal(params["quantity"]), Decimal(params["rate"])
        at = at.astimezone(zone)
        proceeds = _EXACT.multiply(quantity, rate)
        events[code].append(Event(at, SELL, quantity, proceeds))
        tally = tallies[code, at.year]
        tally.sold_jpy = _EXACT.add(tally.sold_jpy, proceeds)
    return {code: cover_shortfalls(sorted(found, key=lambda event: event.at)) for code, found in events.items()}, tallies


def _raw(column):
    """The column as the driver gives it (text on SQLite, Decimal on PostgreSQL), without
    ExactDecimal's normalising of every value: a year's report reads tens of thousands."""
    return type_coerce(column, String())


def account_years(account_id: int, method: str, zone: ZoneInfo) -> tuple[dict[str, dict[int, Year]], dict[tuple[str, int], Tally]]:
    """currency → year → its Year by the method."""
    events, tallies = account_events(account_id, zone)
    return {code: years(found, method) for code, found in events.items()}, tallies


def year_of(computed: dict[int, Year], number: int) -> Year | None:
    """The Year `number` of one currency: computed, or carried from the last one before it."""
    if number in computed:
        return computed[number]
    earlier = [year for year in computed if year < number]
    if not earlier:
        return None
    last = computed[max(earlier)]
    return Year(number, opening_quantity=last.closing_quantity, opening_cost=last.closing_cost,
                closing_quantity=last.closing_quantity, closing_cost=last.closing_cost)


def annual_report(account_id: int, number: int, method: str, zone: ZoneInfo) -> list[CurrencyYear]:
    """One row per crypto-asset the account held or moved in the year, in display order."""
    computed, tallies = account_years(account_id, method, zone)
    start, end = datetime(number, 1, 1, tzinfo=zone), datetime(number + 1, 1, 1, tzinfo=zone)
    opening, closing = held_before(account_id, start), held_before(account_id, end)
    rows = []
    for code in display_order():
        if code == JPY:
            continue
        year = year_of(computed.get(code, {}), number)
        tally = tallies.get((code, number), Tally())
        if year is None and not opening.get(code) and not closing.get(code):
            continue
        year = year or Year(number)
        if not (opening.get(code) or closing.get(code) or year.events):
            continue
        rows.append(CurrencyYear(code, year, tally, opening.get(code, _ZERO), closing.get(code, _ZERO)))
    return rows


def held_before(account_id: int, moment: datetime) -> dict[str, Decimal]:
    """currency → available + in use just before `moment`, from the journal (as `balances as-of`
    reads it: the last entry that took effect before then)."""
    last = (
        select(_journal.currency_code, func.max(_journal.sequence).label("sequence"))
        .where(_journal.account_id == account_id, _journal.effective_at < moment)
        .group_by(_journal.currency_code)
    ).subquery()
    rows = db.session.execute(
        select(_journal.currency_code, _journal.available_after, _journal.in_use_after)
        .join(last, and_(_journal.currency_code == last.c.currency_code, _journal.sequence == last.c.sequence))
        .where(_journal.account_id == account_id))
    return {code: _EXACT.add(available, in_use) for code, available, in_use in rows}


def display_order() -> list[str]:
    return list(db.session.execute(select(Currency.code).order_by(Currency.display_order, Currency.code)).scalars())


def average_costs(account_id: int, method: str, zone: ZoneInfo) -> tuple[tuple[str, Fraction | None], ...]:
    """(currency, the unit cost of what is held now by the method) for each crypto-asset the
    account has fills, transfers or a compensation of: None where nothing is held by them."""
    computed, _tallies = account_years(account_id, method, zone)
    return tuple(sorted((code, by_year[max(by_year)].unit_cost) for code, by_year in computed.items() if by_year))


def rates_as_of(moment: datetime, period_seconds: int) -> tuple[tuple[str, Decimal], ...]:
    """(currency, its rate as of `moment`, a boundary of period_seconds) from the kept closes:
    the close of the latest period ending at or before it. One statement, an index lookup a currency."""
    closes = RateClose.__table__.c
    latest = (
        select(closes.jpy_rate)
        .where(closes.currency_code == Currency.__table__.c.code, closes.period_seconds == period_seconds, closes.closes_at <= moment)
        .order_by(closes.closes_at.desc()).limit(1).scalar_subquery()
    )
    rows = db.session.execute(select(Currency.__table__.c.code, latest))
    return tuple((code, Decimal(rate)) for code, rate in rows if rate is not None)
