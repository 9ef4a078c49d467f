"""`flask seed-demo`: the demo account, its balances and a rate for every currency."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.ledger.demo import DEMO_EMAIL, DEMO_PASSWORD
from dashboard.ledger.demo import seed_demo as seed


@click.command("seed-demo")
@click.option("--allow-production", is_flag=True,
              help="Seed even though DASHBOARD_ENV is not development (creates a known password).")
@with_appcontext
def seed_demo(allow_production: bool):
    """Create the demo account and data (safe to run again: nothing changes the second time)."""
    # The demo account's password is in the README: on a real exchange it is a way in.
    if current_app.config["ENV_NAME"] != "development" and not allow_production:
        raise click.ClickException(
            f"refusing to create the demo account ({DEMO_EMAIL}, password published in the README) outside "
            "development; set DASHBOARD_ENV=development, or pass --allow-production if you really mean it"
        )
    result = seed()
    click.echo(
        f"demo data: {result['accounts']} account(s) created, {result['balances']} balance(s) set, "
        f"{result['rates']} rate(s) added"
    )
    click.echo(f"sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")
