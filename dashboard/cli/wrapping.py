"""One way to wrap every operator command's callback: the command log, the statement timeout
lifted, database errors explained (dashboard/cli/__init__.py, command_log.py)."""
from __future__ import annotations

import functools

import click


def wrap_each(command: click.Command, mark: str, wrap) -> None:
    """Every command of command (itself, or each of a group's) has its callback wrapped by
    wrap(callback) once, in place: the wrapper carries `mark`, so a command registered by two
    apps is not wrapped twice, and the marks of the wrappers inside it (functools.wraps)."""
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            wrap_each(subcommand, mark, wrap)
        return
    if command.callback is None or getattr(command.callback, mark, False):
        return
    wrapped = functools.wraps(command.callback)(wrap(command.callback))
    setattr(wrapped, mark, True)
    command.callback = wrapped
