"""`flask trades import` and `flask transfers import`: the exchange's fills and moves of
crypto-assets, each file checked whole and applied once (dashboard/ledger/fills.py)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.cli.files import operator, read_input, refuse_file
from dashboard.ledger.changes import in_transaction
from dashboard.ledger.fills import import_trades, import_transfers
from dashboard.ledger.imports import FileRefused
from dashboard.models import utcnow


@click.group(help="Record the exchange's fills: each changes JPY and the crypto-asset in one transaction.")
def trades():
    pass


@trades.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def import_trades_command(file: str):
    """Apply fills from a CSV file with the header
    email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency. The whole file is
    checked first; one bad line, or one fill the balances cannot pay, and nothing is applied.
    A trade_id already recorded is skipped."""
    _run(file, import_trades, "fill")


@click.group(help="Record deposits and withdrawals of crypto-assets (the annual report's moves in and out).")
def transfers():
    pass


@transfers.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def import_transfers_command(file: str):
    """Apply transfers from a CSV file with the header email,transfer_id,at,currency,direction,quantity
    (direction in or out). Checked whole; a transfer_id already recorded is skipped."""
    _run(file, import_transfers, "transfer")


def _run(file: str, importer, noun: str) -> None:
    data = read_input(file)
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    try:
        result, _ = in_transaction(lambda: importer(data, source=operator(), zone=zone, now=utcnow()))
    except FileRefused as refused:
        refuse_file(refused, "nothing")
    click.echo(f"{result.lines} line(s): {result.applied} {noun}(s) applied, {result.already_recorded} already recorded")
