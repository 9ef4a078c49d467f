"""Storing JPY rates: set by hand, read from a file, or refreshed from the ticker. A currency
whose refresh fails keeps its last good rate and does not stop the others."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.ledger.imports import FileRefused, Problem, read_rates
from dashboard.ledger.rate_history import Tick, append_ticks
from dashboard.ledger.rates import RateError, Ticker, TickerError, check_rate_currency, parse_rate, public_url
from dashboard.metrics import RATE_REFRESH_FAILURES
from dashboard.models import Currency, Rate, utcnow


@dataclass(frozen=True)
class RateResult:
    currency: str
    rate: Decimal | None  # the rate stored now; None when this currency failed
    previous: Decimal | None
    previous_as_of: datetime | None
    error: str | None = None


def rate_currencies() -> dict[str, bool]:
    """Every currency's code and whether it is enabled."""
    return dict(db.session.execute(select(Currency.code, Currency.enabled)).all())


def set_rate(code: str, jpy_rate, *, as_of: datetime | None = None, source: str = "manual") -> RateResult:
    """Store one currency's rate in the caller's transaction. Raises RateError."""
    code = check_rate_currency(code, rate_currencies())
    return store_rate(code, parse_rate(jpy_rate), as_of=_check_as_of(as_of), source=source)


def import_rates(data: bytes, *, name: str, zone: str) -> tuple[list[RateResult], list[int]]:
    """Store every rate of a `currency,jpy_rate[,as_of]` file in the caller's transaction, or
    none: raises FileRefused listing every bad line. Also returns the lines whose as_of had
    no offset and was read in `zone`."""
    now = utcnow()
    lines = read_rates(data, rate_currencies(), zone=zone, now=now)
    results, problems = [], []
    for line in lines:
        try:
            results.append(store_rate(line.currency, line.jpy_rate, as_of=line.as_of or now, source=f"import {name}"))
        except RateError as error:
            problems.append(Problem(line.line, str(error)))
    if problems:
        raise FileRefused(problems)
    return results, [line.line for line in lines if line.zone_assumed]


def refresh_rates(ticker: Ticker, codes: list[str] | None = None) -> list[RateResult]:
    """Ask the ticker for each currency's rate (every enabled one but JPY by default) and store
    those it gave, in the caller's transaction. No transaction is held open while waiting on
    the network."""
    currencies = rate_currencies()
    if codes:
        codes = [check_rate_currency(code, currencies) for code in codes]
    else:
        codes = list(db.session.execute(
            select(Currency.code).where(Currency.enabled.is_(True), Currency.code != "jpy").order_by(Currency.display_order)
        ).scalars())
    db.session.rollback()
    fetched: dict[str, Decimal | str] = {}
    for code in codes:
        try:
            fetched[code] = ticker.fetch(code)
        except TickerError as error:
            fetched[code] = str(error)
    now, source = utcnow(), f"ticker {public_url(ticker.base_url)}"
    results = []
    for code in codes:
        answer = fetched[code]
        if isinstance(answer, Decimal):
            try:
                results.append(store_rate(code, answer, as_of=now, source=source))
                continue
            except RateError as error:
                answer = str(error)
        current = db.session.get(Rate, code)
        results.append(RateResult(code, None, current and current.jpy_rate, current and current.as_of, answer))
        RATE_REFRESH_FAILURES.labels(code).inc()
    return results


def refresh_every(run: Callable[[], bool], seconds: float, *, stop: threading.Event, max_runs: int | None = None) -> tuple[int, bool]:
    """Call run() now and then every `seconds` until `stop` is set or max_runs runs are done.
    Returns the number of runs and whether every one succeeded."""
    runs, all_ok = 0, True
    while not stop.is_set():
        all_ok = run() and all_ok
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
        if stop.wait(seconds):
            break
    return runs, all_ok


def current_rates() -> list[tuple[str, Rate | None]]:
    """Every enabled currency but JPY, in display order, with its rate if it has one."""
    query = (
        select(Currency.code, Rate)
        .outerjoin(Rate, Rate.currency_code == Currency.code)
        .where(Currency.enabled.is_(True), Currency.code != "jpy")
        .order_by(Currency.display_order)
    )
    return [(code, rate) for code, rate in db.session.execute(query)]


def _check_as_of(as_of: datetime | None) -> datetime:
    now = utcnow()
    if as_of is None:
        return now
    if as_of > now:
        raise RateError(f"as_of {as_of.isoformat()} is in the future")
    return as_of


def store_rate(code: str, jpy_rate: Decimal, *, as_of: datetime, source: str) -> RateResult:
    """Make a checked rate the currency's current one and append it to the history, in the
    caller's transaction: the one place a rate is written (set, import, refresh, demo)."""
    result = _store(code, jpy_rate, as_of=as_of, source=source)
    append_ticks([Tick(code, jpy_rate, as_of, source)])
    return result


def _store(code: str, jpy_rate: Decimal, *, as_of: datetime, source: str) -> RateResult:
    current = db.session.get(Rate, code, with_for_update=True, populate_existing=True)
    if current is None:
        db.session.add(Rate(currency_code=code, jpy_rate=jpy_rate, as_of=as_of, source=source[:200]))
        db.session.flush()
        return RateResult(code, jpy_rate, None, None)
    if as_of < current.as_of:
        # An old file must not overwrite a fresher rate from the ticker.
        raise RateError(f"{code}: the current rate ({plain(current.jpy_rate)}) is newer, as of {current.as_of.isoformat()}")
    previous = RateResult(code, jpy_rate, current.jpy_rate, current.as_of)
    current.jpy_rate, current.as_of, current.source = jpy_rate, as_of, source[:200]
    db.session.flush()
    return previous
