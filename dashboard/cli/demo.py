"""`flask seed-demo`: the demo account, its balances and a rate for every currency."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from dashboard.ledger.demo import DEMO_EMAIL, DEMO_PASSWORD
from dashboard.ledger.demo import seed_demo as seed


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Create the demo account and data (safe to run again: nothing changes the second time)."""
    result = seed()
    click.echo(
        f"demo data: {result['accounts']} account(s) created, {result['balances']} balance(s) set, "
        f"{result['rates']} rate(s) added"
    )
    click.echo(f"sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")
