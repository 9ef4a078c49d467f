"""`flask rates set|import|refresh|list|as-of`: the JPY rate of each currency (JPY itself is always 1)."""
from __future__ import annotations

import csv
import signal
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from dashboard.cli.files import read_input, read_moment, refuse_file, stamp
from dashboard.core.formatting import plain
from dashboard.core.terminal_text import shown
from dashboard.extensions import db
from dashboard.ledger.imports import FileRefused
from dashboard.ledger.rate_history import rates_as_of
from dashboard.ledger.rate_updates import (
    RateResult,
    current_rates,
    import_rates,
    refresh_every,
    refresh_rates,
    set_rate,
)
from dashboard.ledger.rates import RateError, Ticker, TickerError
from dashboard.metrics import RATE_REFRESHES
from dashboard.models import utcnow


@click.group(help="Manage the JPY rate of each currency.")
def rates():
    pass


@rates.command("set")
@click.argument("currency")
@click.argument("rate")
@click.option("--as-of", "as_of", metavar="TIMESTAMP", help="When the rate was quoted (ISO 8601; default now).")
@with_appcontext
def set_command(currency: str, rate: str, as_of: str | None):
    """Set CURRENCY's rate to RATE JPY per unit."""
    moment = read_moment(as_of, "--as-of") if as_of else None
    try:
        result = set_rate(currency, rate, as_of=moment, source="manual (cli)")
        db.session.commit()
    except RateError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(_describe(result))


@rates.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def import_command(file: str):
    """Set rates from a CSV file with the header currency,jpy_rate[,as_of]; all or nothing."""
    data = read_input(file)
    try:
        zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
        results, zone_assumed = import_rates(data, name="stdin" if file == "-" else Path(file).name, zone=zone)
        db.session.commit()
    except FileRefused as refused:
        db.session.rollback()
        refuse_file(refused, "no rate")
    if zone_assumed:
        lines = ", ".join(str(line) for line in zone_assumed)
        click.echo(f"note: as_of without UTC offset on line(s) {lines}; read as {zone} time", err=True)
    for result in results:
        click.echo(_describe(result))
    click.echo(f"{len(results)} rate(s) imported")


@rates.command("refresh")
@click.argument("currencies", nargs=-1)
@click.option("--base-url", help="The exchange's public API (default: RATES_BASE_URL).")
@click.option("--every", type=click.FloatRange(min=0.01), metavar="SECONDS", help="Keep refreshing, every SECONDS, until stopped (SIGTERM or Ctrl-C).")
@click.option("--max-runs", type=click.IntRange(min=1), help="With --every: stop after this many refreshes.")
@click.option("--timeout", type=click.FloatRange(min=0.01), default=5.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--attempts", type=click.IntRange(min=1, max=10), default=3, show_default=True, help="Tries per currency.")
@click.option("--backoff", type=click.FloatRange(min=0), default=0.5, show_default=True, help="Seconds before the 2nd try, doubling after.")
@with_appcontext
def refresh_command(currencies, base_url, every, max_runs, timeout, attempts, backoff):
    """Fetch rates from the ticker (every enabled currency but JPY, or the CURRENCIES named).
    A currency that fails keeps its last good rate; the exit code is 1 if any failed."""
    base_url = base_url or current_app.config.get("RATES_BASE_URL")
    if not base_url:
        raise click.ClickException("no ticker: set RATES_BASE_URL or pass --base-url")
    try:
        ticker = Ticker(base_url, timeout=timeout, attempts=attempts, backoff=backoff)
    except TickerError as error:
        raise click.ClickException(str(error)) from None
    if every is None:
        if max_runs is not None:
            raise click.UsageError("--max-runs goes with --every")
        if not _refresh_once(ticker, list(currencies)):
            raise SystemExit(1)
        return
    stop = threading.Event()
    with stopped_by_signals(stop):
        runs, all_ok = refresh_every(lambda: _refresh_once(ticker, list(currencies)), every, stop=stop, max_runs=max_runs)
    click.echo(f"stopped after {runs} refresh(es)" + ("" if all_ok else "; some failed"))
    if not all_ok:
        raise SystemExit(1)


@rates.command("list")
@with_appcontext
def list_command():
    """Show each currency's rate, when it was quoted, where from, and whether it is stale."""
    max_age, now = current_app.config["RATE_MAX_AGE"], utcnow()
    for code, rate in current_rates():
        if rate is None:
            click.echo(f"{code}: no rate")
            continue
        stale = " STALE" if now - rate.as_of > max_age else ""
        click.echo(f"{code}: {plain(rate.jpy_rate)} JPY as of {stamp(rate.as_of)} ({shown(rate.source)}){stale}")


@rates.command("as-of")
@click.argument("timestamp")
@with_appcontext
def as_of_command(timestamp: str):
    """Each currency's rate at a past moment, from the rate history, as CSV
    (currency,jpy_rate,as_of): the last one at or before TIMESTAMP. A TIMESTAMP without offset
    is read in the display zone; currencies without a rate by then are left out."""
    moment = read_moment(timestamp, "TIMESTAMP")
    click.echo(f"rates as of {moment.isoformat()} ({stamp(moment)} display time)", err=True)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(("currency", "jpy_rate", "as_of"))
    for rate in rates_as_of(moment):
        writer.writerow((rate.currency, plain(rate.jpy_rate), rate.as_of.astimezone(zone).isoformat()))


def _refresh_once(ticker: Ticker, currencies: list[str]) -> bool:
    """One refresh, committed; True if every currency got a rate. Errors of the database are
    reported and count as a failed run, so that a loop outlives a database restart."""
    try:
        results = refresh_rates(ticker, currencies)
        db.session.commit()
    except RateError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        db.session.rollback()
        click.echo(f"refresh failed: database error: {error.__class__.__name__}: {str(error).splitlines()[0][:200]}", err=True)
        RATE_REFRESHES.labels("failed").inc()
        return False
    finally:
        db.session.remove()  # no connection held between runs
    failed = [result for result in results if result.error]
    for result in results:
        click.echo(_describe(result), err=bool(result.error))
    click.echo(f"{len(results) - len(failed)} rate(s) refreshed, {len(failed)} failed", err=bool(failed))
    RATE_REFRESHES.labels("failed" if failed else "ok").inc()
    return not failed


def _describe(result: RateResult) -> str:
    if result.error is None:
        was = f" (was {plain(result.previous)})" if result.previous is not None else " (new)"
        return f"{result.currency}: {plain(result.rate)} JPY{was}"
    if result.previous is None:
        kept = "no rate yet, so it is shown without a JPY value"
    else:
        age = utcnow() - result.previous_as_of
        stale = "; now STALE" if age > current_app.config["RATE_MAX_AGE"] else ""
        kept = f"keeping the last good rate {plain(result.previous)} as of {stamp(result.previous_as_of)}{stale}"
    return f"{result.currency}: FAILED ({result.error}); {kept}"


class stopped_by_signals:
    """SIGTERM and SIGINT set `stop` (the loop ends after its current run) instead of killing
    the process mid-write; the previous handlers come back afterwards."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stop: threading.Event):
        self.stop, self.previous = stop, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # only there may handlers be set
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, lambda *_: self.stop.set())
        return self

    def __exit__(self, *exc):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
