"""Operator commands, grouped by noun: `flask --app dashboard users|seed-demo|demo-ticker|rates|balances|journal|keys|sessions|compensation|trades|transfers|report`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import ScriptInfo
from sqlalchemy.exc import OperationalError, ProgrammingError

from dashboard.cli import command_log
from dashboard.cli.wrapping import wrap_each
from dashboard.database import lift_statement_timeout


def register_commands(app) -> None:
    from dashboard.cli.balances import balances
    from dashboard.cli.compensation import compensation
    from dashboard.cli.demo import demo_ticker, seed_demo
    from dashboard.cli.fills import trades, transfers
    from dashboard.cli.journal import journal
    from dashboard.cli.keys import keys
    from dashboard.cli.rates import rates
    from dashboard.cli.report import report
    from dashboard.cli.sessions import sessions
    from dashboard.cli.users import users

    for command in (users, seed_demo, demo_ticker, rates, balances, journal, keys, sessions, compensation, trades, transfers,
                    report):
        _explain_database_errors(command)
        command_log.log_each_run(command)
        _unbounded(command)
        app.cli.add_command(command)
    # Flask-Migrate's `db` group comes to the `flask` command by its entry point, not through
    # app.cli; its commands are logged the same way (`db upgrade` is an operator's step too).
    from flask_migrate.cli import db as migrate_commands

    command_log.log_each_run(migrate_commands)
    _unbounded(migrate_commands)


def _unbounded(command: click.Command) -> None:
    """DATABASE_STATEMENT_TIMEOUT_MS bounds a request's statements; an operator's command (a
    migration, `balances verify` over every account, a compensation batch) runs as long as it takes."""
    def wrap(callback):
        def unbounded(*args, **kwargs):
            app = current_app._get_current_object() if current_app else click.get_current_context().ensure_object(ScriptInfo).load_app()  # noqa: SLF001 (Werkzeug's documented unwrap)
            lift_statement_timeout(app)
            return callback(*args, **kwargs)
        return unbounded

    wrap_each(command, "unbounded", wrap)


def _explain_database_errors(command: click.Command) -> None:
    """A database that is down or not yet migrated gets one clear line and exit code 1,
    not a stack trace, whichever command met it."""
    def wrap(callback):
        def explained(*args, **kwargs):
            try:
                return callback(*args, **kwargs)
            except (OperationalError, ProgrammingError) as error:
                detail = str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__
                raise click.ClickException(
                    f"the database is unreachable or not migrated ({detail}); check DATABASE_URL "
                    "and run `flask --app dashboard db upgrade`"
                ) from None
        return explained

    wrap_each(command, "explains_database_errors", wrap)
