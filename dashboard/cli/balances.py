"""`flask balances import|export|set|adjust|history|verify|as-of`: balances change only through the
ledger, and every change is in the journal."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from dashboard.accounts.store import find_account
from dashboard.cli.files import operator, output, read_input, read_moment, refuse_file, stamp
from dashboard.core.formatting import plain
from dashboard.core.journal_hash import parse_anchors
from dashboard.core.terminal_text import shown
from dashboard.extensions import db
from dashboard.ledger import reasons
from dashboard.ledger.balance_files import current_balances, import_balances, write_balances
from dashboard.ledger.changes import LedgerError, adjust, in_transaction, set_balance
from dashboard.ledger.imports import FileRefused, parse_amount
from dashboard.ledger.journal import history, holdings_as_of, verify
from dashboard.models import Currency

_STANDARD_REASON = "Default: a standard reason, shown to the customer in their language."


def _reason(text: str | None, standard) -> str | reasons.Reason:
    if text is None:
        return standard()
    if not text.strip():
        raise click.BadParameter("must not be empty", param_hint="--reason")
    return text.strip()


@click.group(help="Manage customer balances and read their journal.")
def balances():
    pass


@balances.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--as-of", "as_of", metavar="TIMESTAMP",
              help="The file gives balances as they stood at this past moment (ISO 8601); the journal records both times.")
@click.option("--reason", help=f"Recorded in the journal and shown to the customer as written. {_STANDARD_REASON}")
@with_appcontext
def import_command(file: str, as_of: str | None, reason: str | None):
    """Set balances from a CSV file with the header email,currency,available,in_use.
    The whole file is checked first; one bad line and nothing is imported."""
    moment = read_moment(as_of, "--as-of") if as_of else None
    data = read_input(file)
    try:
        result, _ = in_transaction(lambda: import_balances(data, name="stdin" if file == "-" else Path(file).name, at=moment, reason=_reason(reason, reasons.balance_import)))
    except FileRefused as refused:
        refuse_file(refused, "nothing")
    if result.changed == 0 and result.already_applied:
        when = f" on {stamp(result.applied_on)}" if result.applied_on else ""
        click.echo(f"already applied: this file (sha256 {result.digest[:16]}) was imported{when}; nothing changed")
        return
    click.echo(f"{result.lines} line(s): {result.changed} balance(s) changed, {result.unchanged} already so"
               + (f", {result.already_applied} already applied" if result.already_applied else ""))


@balances.command("export")
@click.argument("file", default="-", type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def export_command(file: str):
    """Write every balance to FILE (default: standard output) in the import format."""
    with output(file) as stream:
        count = write_balances(current_balances(), stream)
    if file != "-":
        click.echo(f"{count} balance(s) written to {file}")


@balances.command("set")
@click.argument("email")
@click.argument("currency")
@click.option("--available", metavar="AMOUNT", help="The new available amount.")
@click.option("--in-use", "in_use", metavar="AMOUNT", help="The new amount in use.")
@click.option("--reason", help=f"Recorded in the journal and shown to the customer as written. {_STANDARD_REASON}")
@with_appcontext
def set_command(email, currency, available, in_use, reason):
    """Set an account's balance in CURRENCY; a figure not given stays as it is."""
    _change(email, currency, available, in_use, reason, signed=False)


@balances.command("adjust")
@click.argument("email")
@click.argument("currency")
@click.option("--available", metavar="[+|-]AMOUNT", help="Add to (or, with -, take from) the available amount.")
@click.option("--in-use", "in_use", metavar="[+|-]AMOUNT", help="Add to (or take from) the amount in use.")
@click.option("--reason", help=f"Recorded in the journal and shown to the customer as written. {_STANDARD_REASON}")
@with_appcontext
def adjust_command(email, currency, available, in_use, reason):
    """Add signed amounts to an account's balance in CURRENCY (safe against concurrent changes)."""
    _change(email, currency, available, in_use, reason, signed=True)


@balances.command("history")
@click.argument("email")
@click.option("--currency", help="Only this currency.")
@with_appcontext
def history_command(email: str, currency: str | None):
    """Print an account's journal: every change, oldest first."""
    account = _account(email)
    entries = history(account.id, _currency(currency).code if currency else None)
    click.echo(f"{shown(account.email)}: {len(entries)} journal entr{'y' if len(entries) == 1 else 'ies'}")
    for entry in entries:
        recorded = "" if abs((entry.recorded_at - entry.effective_at).total_seconds()) < 1 else f" [recorded {stamp(entry.recorded_at)}]"
        click.echo(
            f"{stamp(entry.effective_at)}  {entry.currency_code} #{entry.sequence}  "
            f"available {plain(entry.available_before)} -> {plain(entry.available_after)}  "
            f"in use {plain(entry.in_use_before)} -> {plain(entry.in_use_after)}  "
            f"{shown(entry.reason)} ({shown(entry.source)}){recorded}"
        )


@balances.command("verify")
@click.option("--anchor", "anchor_files", metavar="FILE", multiple=True,
              help="A file of anchors (`flask journal anchor`, one JSON line each): the journal must still extend every one. "
                   "May be given more than once.")
@with_appcontext
def verify_command(anchor_files: tuple[str, ...]):
    """Check that every balance equals the last figures of its journal, that each journal is an
    unbroken chain, that every entry's hash holds over its contents and the entry before it (the
    first that does not is named, with why: changed, out of order, or an entry missing), and that
    the journal still extends each anchor given. Exit code 1 if not."""
    anchors = []
    for path in anchor_files:
        data = read_input(path)
        try:
            anchors += parse_anchors(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            reason = "it is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
            raise click.BadParameter(f"{path}: {reason}", param_hint="--anchor") from None
    balance_count, entry_count, problems = verify(anchors)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {balance_count} balance(s), {entry_count} journal entries")
    extends = f"; the journal extends {len(anchors)} anchor(s)" if anchors else ""
    click.echo(f"ok: {balance_count} balance(s) and {entry_count} journal entries agree, every hash holds{extends}")


@balances.command("as-of")
@click.argument("timestamp")
@click.option("--currency", help="Only this currency (e.g. xem).")
@with_appcontext
def as_of_command(timestamp: str, currency: str | None):
    """Every account's holdings at a past moment, rebuilt from the journal, as CSV
    (email,currency,available,in_use). A TIMESTAMP without offset is read in the display zone."""
    moment = read_moment(timestamp, "TIMESTAMP")
    code = _currency(currency).code if currency else None
    click.echo(f"holdings as of {moment.isoformat()} ({stamp(moment)} display time)", err=True)
    write_balances(holdings_as_of(moment, code), sys.stdout)


def _change(email, currency, available, in_use, reason, *, signed: bool):
    if available is None and in_use is None:
        raise click.UsageError("give --available, --in-use or both")
    account, currency = _account(email), _currency(currency)
    figures = {}
    for name, text in (("available", available), ("in_use", in_use)):
        if text is not None:
            try:
                figures[name] = parse_amount(text, currency.decimals, signed=signed)
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="--" + name.replace("_", "-")) from None
    change = adjust if signed else set_balance
    try:
        entry, _ = in_transaction(lambda: change(account.id, currency.code, **figures, reason=_reason(reason, reasons.adjustment), source=_source()))
    except LedgerError as error:
        raise click.ClickException(str(error)) from None
    if entry is None:
        click.echo(f"{shown(account.email)} {currency.code}: already so; nothing changed")
        return
    click.echo(f"{shown(account.email)} {currency.code}: available {plain(entry.available_before)} -> {plain(entry.available_after)}, "
               f"in use {plain(entry.in_use_before)} -> {plain(entry.in_use_after)} (journal #{entry.sequence})")


def _account(email: str):
    account = find_account(email)
    if account is None:
        raise click.ClickException(f"no account with the email {shown(email.strip()[:80])}")
    return account


def _currency(code: str) -> Currency:
    currency = db.session.get(Currency, code.strip().lower())
    if currency is None:
        raise click.ClickException(f"unknown currency {shown(code.strip()[:20])!r}")
    return currency


def _source() -> str:
    return operator()
