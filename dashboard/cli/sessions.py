"""`flask sessions purge`: delete sign-in sessions that have ended (idle or past their limit) and
security events older than SECURITY_EVENT_DAYS."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.accounts.security_events import purge_old
from dashboard.accounts.sessions import purge_ended


@click.group(help="Manage sign-in sessions.")
def sessions():
    pass


@sessions.command("purge")
@with_appcontext
def purge():
    """Delete every session idle for SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS (they
    no longer sign anyone in; this only keeps the table small), and every security event older
    than SECURITY_EVENT_DAYS."""
    click.echo(f"{purge_ended()} ended session(s) deleted")
    days = current_app.config["SECURITY_EVENT_DAYS"]
    click.echo(f"{purge_old()} security event(s) older than {days} days deleted")
