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


@contextmanager
def moving_rates(connect, *, sqlite: bool, per_second: int = TICKS_PER_SECOND):
    """While the block runs, every rate changes `per_second` times a second. `connect()` gives a
    DB-API connection (psycopg for PostgreSQL, sqlite3 for SQLite)."""
    stop = threading.Event()
    ticks = [0]
    errors: list[BaseException] = []
    marker = "?" if sqlite else "%s"

    def tick_forever():
        try:
            connection = connect()
            try:
                rates = connection.execute("SELECT currency_code, jpy_rate FROM rates WHERE currency_code <> 'jpy'").fetchall()
                rates = {code: Decimal(str(rate)) for code, rate in rates}
                connection.commit()
                while not stop.wait(1 / per_second):
                    step = STEPS[ticks[0] % 2]
                    moment = datetime.now(UTC)
                    # As the app stores them: SQLite keeps exact decimals as text and times as naive UTC text.
                    as_of = moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment
                    for code in rates:
                        rates[code] = (rates[code] * step).quantize(Decimal("0.000001"))
                        value = _plain(rates[code]) if sqlite else rates[code]
                        connection.execute(f"UPDATE rates SET jpy_rate = {marker}, as_of = {marker} WHERE currency_code = {marker}", (value, as_of, code))
                    connection.commit()
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
