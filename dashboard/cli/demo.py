"""`flask seed-demo` (the demo account, its year of history, balances and rates) and
`flask demo-ticker` (keeps the demo rates moving while a development server runs)."""
from __future__ import annotations

import random
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from dashboard.cli.rates import stopped_by_signals
from dashboard.extensions import db
from dashboard.ledger.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_RATES
from dashboard.ledger.demo import seed_demo as seed
from dashboard.ledger.demo_story import tick_demo_rates
from dashboard.ledger.rate_updates import refresh_every


@click.command("seed-demo")
@click.option("--allow-production", is_flag=True,
              help="Seed even though DASHBOARD_ENV is not development (creates a known password).")
@with_appcontext
def seed_demo(allow_production: bool):
    """Create the demo account and data, with a year of rate history and of the account's
    journal (safe to run again: nothing changes the second time)."""
    # The demo account's password is in the README: on a real exchange it is a way in.
    if current_app.config["ENV_NAME"] != "development" and not allow_production:
        raise click.ClickException(
            f"refusing to create the demo account ({DEMO_EMAIL}, password published in the README) outside "
            "development; set DASHBOARD_ENV=development, or pass --allow-production if you really mean it"
        )
    result = seed(story=True)
    click.echo(
        f"demo data: {result['accounts']} account(s) created, {result['balances']} balance(s) set, "
        f"{result['rates']} rate(s) added, {result['journal_story']} journal entries and "
        f"{result['rate_history']} past rate(s) of the demo's year written"
    )
    click.echo(f"sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")


@click.command("demo-ticker")
@click.option("--every", type=click.FloatRange(min=1), default=10, show_default=True, metavar="SECONDS",
              help="Seconds between moves.")
@click.option("--max-runs", type=click.IntRange(min=1), help="Stop after this many moves.")
@click.option("--seed", "seed_", type=int, help="Seed of the moves, to repeat a run.")
@with_appcontext
def demo_ticker(every: float, max_runs: int | None, seed_: int | None):
    """Move every demo rate a little, every SECONDS, until stopped (development only: the
    rates are invented, source "demo")."""
    if current_app.config.get("ENV_NAME") != "development" and not current_app.config.get("TESTING"):
        raise click.ClickException("the demo ticker invents rates: it runs only with DASHBOARD_ENV=development")
    rng = random.Random(seed_)

    def move() -> bool:
        try:
            tick_demo_rates(rng, DEMO_RATES)
            db.session.commit()
            return True
        except SQLAlchemyError as error:
            db.session.rollback()
            click.echo(f"demo tick failed: {error.__class__.__name__}: {str(error).splitlines()[0][:200]}", err=True)
            return False
        finally:
            db.session.remove()

    stop = threading.Event()
    with stopped_by_signals(stop):
        runs, _all_ok = refresh_every(move, every, stop=stop, max_runs=max_runs)
    click.echo(f"demo ticker stopped after {runs} move(s)")
