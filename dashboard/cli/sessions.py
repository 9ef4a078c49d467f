"""`flask sessions purge`: delete sign-in sessions that have ended (idle or past their limit)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from dashboard.accounts.sessions import purge_ended


@click.group(help="Manage sign-in sessions.")
def sessions():
    pass


@sessions.command("purge")
@with_appcontext
def purge():
    """Delete every session idle for SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS.
    They no longer sign anyone in; this only keeps the table small."""
    click.echo(f"{purge_ended()} ended session(s) deleted")
