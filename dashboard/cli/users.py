"""`flask users create EMAIL`: the password is prompted for, never taken from the command line."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from dashboard.accounts.store import AccountError, create_account
from dashboard.core.terminal_text import shown
from dashboard.extensions import db


@click.group(help="Manage customer accounts.")
def users():
    pass


@users.command("create")
@click.argument("email")
@click.password_option(help="Prompted for (twice) when not given; avoid passing it on the command line.")
@with_appcontext
def create(email: str, password: str):
    """Create an account that can sign in with EMAIL."""
    try:
        account = create_account(email, password)
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(shown(error)) from None
    click.echo(f"created account {shown(account.email)}")
