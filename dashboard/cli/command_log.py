"""One log line for every operator command run: which command, how it ended, how long it took.

The command's path only ("rates refresh"), never its arguments or options: those hold emails
(`users create`), file names and amounts (`balances set`). Under the `flask` command the app's
logging is configured (operations/logs.py), so in production the line is JSON on stderr.
"""
from __future__ import annotations

import logging
import time
import uuid

import click

from dashboard.cli.wrapping import wrap_each
from dashboard.operations.logs import CURRENT_REQUEST_ID

log = logging.getLogger("dashboard.commands")
MARK = "dashboard_logs_each_run"


def log_each_run(command: click.Command) -> None:
    """Wraps the command (each of a group's) once, in place, whichever app registers it."""
    wrap_each(command, MARK, _logged)


def _logged(callback):
    def logged(*args, **kwargs):
        context = click.get_current_context()
        name = context.command_path.partition(" ")[2] or context.command_path
        run_id = uuid.uuid4().hex
        token = CURRENT_REQUEST_ID.set(run_id)
        started, exit_code = time.perf_counter(), 1
        try:
            result = callback(*args, **kwargs)
            exit_code = 0
            return result
        except click.exceptions.Exit as stop:
            exit_code = stop.exit_code
            raise
        except SystemExit as stop:
            exit_code = stop.code if isinstance(stop.code, int) else 1
            raise
        finally:
            # Alembic's logging set-up (migrations/env.py) disables the loggers it does not name.
            log.disabled = False
            log.log(logging.INFO if exit_code == 0 else logging.WARNING, "command",
                    extra={"request_id": run_id, "command": name, "exit_code": exit_code,
                           "duration_seconds": round(time.perf_counter() - started, 6)})
            CURRENT_REQUEST_ID.reset(token)
    return logged
