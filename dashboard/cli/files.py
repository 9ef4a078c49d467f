"""What the CLI commands share: reading an operator's file or timestamp, refusing a bad file,
writing a file whole, and showing a time in the display zone."""
from __future__ import annotations

import getpass
import os
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click
from flask import current_app

from dashboard.core.terminal_text import shown
from dashboard.ledger.imports import MAX_FILE_BYTES, FileRefused, parse_moment


def read_input(path: str) -> bytes:
    """The bytes of the file at path ('-' for standard input)."""
    try:
        if path == "-":
            return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        with open(path, "rb") as file:
            return file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror or error}") from None


def refuse_file(refused: FileRefused, nothing: str) -> NoReturn:
    """Report every problem, then stop with exit code 1 saying nothing was written."""
    for problem in refused.problems:
        click.echo(shown(problem), err=True)
    raise click.ClickException(f"{nothing} imported: {len(refused.problems)} problem(s) in the file")


def read_moment(text: str, hint: str) -> datetime:
    """An ISO 8601 timestamp; one without an offset is read in the display zone, and says so."""
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    try:
        moment, assumed = parse_moment(text, zone)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=hint) from None
    if assumed:
        click.echo(f"note: {shown(text.strip())} has no UTC offset; read as {zone} time ({moment.isoformat()})", err=True)
    return moment


def stamp(moment: datetime) -> str:
    """A time in the display zone, with its offset."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment.astimezone(zone).isoformat(sep=" ", timespec="seconds")


@contextmanager
def output(path: str):
    """A text stream to write to: standard output for '-', else a temporary file beside path
    that replaces it only once completely written (never a half-written file)."""
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def operator() -> str:
    """Who is running the command, as far as the machine knows (recorded as the change's source)."""
    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):
        return "cli"
