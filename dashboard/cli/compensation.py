"""`flask compensation plan|apply|status`: repay every holder of a currency at a past moment in
JPY — planned into a file for review, applied exactly once, audited in the journal."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import click
from flask.cli import with_appcontext

from dashboard.cli.files import operator, output, read_input, read_moment, stamp
from dashboard.core.compensation import DEFAULT_ROUNDING, ROUNDING_RULES
from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.ledger.changes import LedgerError
from dashboard.ledger.compensation_plans import Plan, PlanRefused, make_plan, read_plan
from dashboard.ledger.compensation_runs import BATCH_SIZE, apply_plan, plan_status
from dashboard.ledger.rates import RateError, parse_rate

# Fault injection for the kill-and-resume test: the process kills itself (SIGKILL, as `kill -9`
# would) right after committing this many batches. Never set in production.
KILL_AFTER_BATCHES = "DASHBOARD_TEST_KILL_AFTER_BATCHES"


@click.group(help="Compensate holders of a currency in JPY: plan, review, apply once, check.")
def compensation():
    pass


@compensation.command("plan")
@click.option("--currency", required=True, help="The currency that was held, e.g. xem.")
@click.option("--rate", required=True, metavar="JPY", help="JPY per unit held, e.g. 88.549.")
@click.option("--snapshot", required=True, metavar="TIMESTAMP",
              help="The moment holdings are taken at, ISO 8601 (e.g. 2018-01-26T23:59:59+09:00); without an offset, "
                   "read in DISPLAY_TIMEZONE.")
@click.option("--rounding", type=click.Choice(list(ROUNDING_RULES)), default=DEFAULT_ROUNDING, show_default=True,
              help="How quantity × rate becomes whole yen.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The plan file to write (must not exist).")
@with_appcontext
def plan_command(currency: str, rate: str, snapshot: str, rounding: str, out: str):
    """Write one line `email,quantity,jpy` per account that held CURRENCY at the snapshot, and
    record the plan (its SHA-256 and parameters) so that only this file can be applied."""
    try:
        jpy_rate = parse_rate(rate)
    except RateError as error:
        raise click.BadParameter(str(error), param_hint="--rate") from None
    moment = read_moment(snapshot, "--snapshot")
    if Path(out).exists():
        raise click.ClickException(f"{out} already exists: a reviewed plan is never overwritten; choose another name")
    try:
        with output(out) as stream:
            plan = make_plan(currency, jpy_rate, moment, rounding, created_by=operator())
            stream.write(plan.data.decode("utf-8"))
            stream.flush()
            db.session.commit()  # recorded only once the file is complete; the file kept only once recorded
    except PlanRefused as refused:
        db.session.rollback()
        raise click.ClickException(str(refused)) from None
    record = plan.record
    code = record.currency_code.upper()
    click.echo(f"plan {record.identity}: {code} at {plain(record.rate)} JPY per unit held at {stamp(record.snapshot_at)}, "
               f"rounding {record.rounding}")
    click.echo(f"holders: {record.holders}")
    click.echo(f"total quantity: {plain(record.total_quantity)} {code}")
    click.echo(f"total JPY: {plain(record.total_jpy)}")
    click.echo(f"total rounded away: {plain(record.rounded_away)} JPY")
    click.echo(f"written to {out} (sha256 {record.digest}); review it, then: flask --app dashboard compensation apply {out}")


@compensation.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reason", help='Recorded in the journal and shown to the customer as written. Default: "NEM compensation: '
                               '¥88.549 × 10,000 XEM", in the customer\'s language.')
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=BATCH_SIZE, show_default=True,
              help="Accounts per transaction.")
@with_appcontext
def apply_command(file: str, reason: str | None, batch_size: int):
    """Credit each line's JPY and take its quantity (available first, then in use), one
    transaction per batch. Safe to run again, and to resume after a crash: what is applied is
    never applied twice. Exit code 1 if any account was refused."""
    if reason is not None and not reason.strip():
        raise click.BadParameter("must not be empty", param_hint="--reason")
    plan = _plan(file)
    kill_after = int(os.environ.get(KILL_AFTER_BATCHES) or 0)

    def after_batch(batches: int) -> None:
        if kill_after and batches >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    try:
        result = apply_plan(plan, source=f"compensation {plan.record.identity[:8]} sha256:{plan.record.digest[:16]} {operator()}",
                            reason_text=reason.strip() if reason else None, batch_size=batch_size, after_batch=after_batch)
    except LedgerError as error:
        raise click.ClickException(f"stopped: {error}; the batches before it are applied, run the command again once fixed") from None
    if result.applied == 0 and not result.refused and result.already_applied:
        click.echo(f"already applied: all {result.already_applied} line(s) of plan {plan.record.identity}; nothing changed")
        return
    click.echo(f"plan {plan.record.identity}: {result.applied} applied now, {result.already_applied} already applied, "
               f"{len(result.refused)} refused ({result.batches} batch(es), {result.retries} retried)")
    for refusal in result.refused:
        click.echo(f"refused {refusal.email}: {plain(refusal.quantity)} {plan.record.currency_code.upper()} / "
                   f"{plain(refusal.jpy)} JPY: {refusal.detail}", err=True)
    if result.refused:
        raise click.ClickException(f"{len(result.refused)} account(s) refused and not touched; the others are applied")


@compensation.command("status")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def status_command(file: str):
    """How many lines of the plan are applied, pending and refused, with their totals."""
    plan = _plan(file)
    status = plan_status(plan)
    record = plan.record
    code = record.currency_code.upper()
    click.echo(f"plan {record.identity}: {code} at {plain(record.rate)} JPY, holdings at {stamp(record.snapshot_at)}, "
               f"rounding {record.rounding}, planned {stamp(record.created_at)} by {record.created_by}")
    for name, tally in (("applied", status.applied), ("pending", status.pending), ("refused", status.refused)):
        click.echo(f"{name}: {tally.count} line(s), {plain(tally.quantity)} {code}, {plain(tally.jpy)} JPY")
    for refusal in status.refusals:
        click.echo(f"refused {refusal.email}: {refusal.detail}")


def _plan(file: str) -> Plan:
    try:
        return read_plan(read_input(file))
    except PlanRefused as refused:
        raise click.ClickException(f"{file}: {refused}") from None
