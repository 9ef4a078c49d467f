"""`flask report annual`: an account's annual transaction report (年間取引報告書) as CSV."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.accounts.store import find_account
from dashboard.core.cost_basis import METHODS
from dashboard.core.terminal_text import shown
from dashboard.gains.figures import account_method, report_csv, report_rows


@click.group(help="Reports for customers.")
def report():
    pass


@report.command("annual")
@click.argument("email")
@click.option("--year", required=True, type=click.IntRange(2009, 9999), help="The calendar year (in DISPLAY_TIMEZONE).")
@click.option("--method", type=click.Choice(METHODS), help="The method of acquisition cost. Default: the account's own.")
@click.option("--lang", "language", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="The language of the column names (en: the exact English header).")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="The file to write. Default: standard output.")
@with_appcontext
def annual_command(email: str, year: int, method: str | None, language: str, out: str | None):
    """Write EMAIL's annual transaction report for --year as CSV (UTF-8 with a byte-order mark):
    per crypto-asset the opening balance, units and JPY bought and sold, units moved in and out,
    fees, the closing balance, the average acquisition cost and the realized gain."""
    account = find_account(email)
    if account is None:
        raise click.ClickException(f"no account with the email {shown(email.strip()[:80])}")
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    body = report_csv(report_rows(account.id, year, method or account_method(account.id), zone), language)
    if out is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    target = Path(out)
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(body)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    click.echo(f"annual report {year} of {shown(account.email)} written to {out}", err=True)
