"""Rates that move five times a second while a figure is taken, as a live ticker would move them.

Every tick writes a new rate for every crypto-asset (the JPY rate is always 1) in one
transaction, through the database as `rates refresh` would, so the app hears of it the way it
hears of any change (PostgreSQL: the change feed; SQLite: nothing to hear, it reads anyway).
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

TICKS_PER_SECOND = 5
STEPS = (Decimal("1.0001"), Decimal("0.9999"))  # up, then back: the figures move, the demo keeps its scale


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _append_to_history(connection, code: str, rate: Decimal, moment: datetime) -> None:
    """As the app's ledger.rate_history does: the tick appended, the close of each period it
    falls in brought up to it (PostgreSQL only)."""
    from dashboard.core.history import PERIODS, closes_at

    connection.execute("INSERT INTO rate_history (currency_code, jpy_rate, as_of, source, recorded_at) "
                       "VALUES (%s, %s, %s, 'bench-ticker', %s)", (code, rate, moment, moment))
    for period in PERIODS:
        connection.execute(
            "INSERT INTO rate_closes (currency_code, period_seconds, closes_at, jpy_rate, as_of) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (currency_code, period_seconds, closes_at) DO UPDATE SET jpy_rate = excluded.jpy_rate, "
            "as_of = excluded.as_of WHERE excluded.as_of >= rate_closes.as_of",
            (code, period, closes_at(moment, period), rate, moment))


def current_rates(connection) -> dict[str, Decimal]:
    """Every crypto-asset's JPY rate as stored, to be moved by write_tick."""
    rows = connection.execute("SELECT currency_code, jpy_rate FROM rates WHERE currency_code <> 'jpy'").fetchall()
    connection.commit()
    return {code: Decimal(str(rate)) for code, rate in rows}


def write_tick(connection, rates: dict[str, Decimal], step: Decimal, *, sqlite: bool, history: bool = False) -> datetime:
    """One tick: every rate in `rates` moved by step (kept there too) and written in one transaction;
    returns the tick's moment (every rate's as_of)."""
    marker = "?" if sqlite else "%s"
    moment = datetime.now(UTC)
    # As the app stores them: SQLite keeps exact decimals as text and times as naive UTC text.
    as_of = moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment
    for code in rates:
        rates[code] = (rates[code] * step).quantize(Decimal("0.000001"))
        value = _plain(rates[code]) if sqlite else rates[code]
        connection.execute(f"UPDATE rates SET jpy_rate = {marker}, as_of = {marker} WHERE currency_code = {marker}", (value, as_of, code))
        if history:
            _append_to_history(connection, code, rates[code], moment)
    connection.commit()
    return moment


@contextmanager
def moving_rates(connect, *, sqlite: bool, per_second: int = TICKS_PER_SECOND, history: bool = False):
    """While the block runs, every rate changes `per_second` times a second. `connect()` gives a
    DB-API connection (psycopg for PostgreSQL, sqlite3 for SQLite). With history (PostgreSQL),
    every tick is also appended to the rate history, as the app writes every rate."""
    if history and sqlite:
        raise ValueError("the ticker writes the rate history on PostgreSQL only")
    stop = threading.Event()
    ticks = [0]
    errors: list[BaseException] = []

    def tick_forever():
        try:
            connection = connect()
            try:
                rates = current_rates(connection)
                while not stop.wait(1 / per_second):
                    write_tick(connection, rates, STEPS[ticks[0] % 2], sqlite=sqlite, history=history)
                    ticks[0] += 1
            finally:
                connection.close()
        except BaseException as error:  # reported by the caller: a silent ticker would fake the figure
            errors.append(error)

    thread = threading.Thread(target=tick_forever, name="bench-ticker", daemon=True)
    thread.start()
    try:
        yield ticks
    finally:
        stop.set()
        thread.join(timeout=10)
    if errors:
        raise RuntimeError(f"the ticker failed: {errors[0]!r}")


def sqlite_connect(path: str):
    def connect():
        connection = sqlite3.connect(path, timeout=10)
        return connection

    return connect
