"""`flask journal anchor`: the journal's chain head, printed for an operator to keep elsewhere, so
that `balances verify --anchor` can later prove the journal was not rewritten before it."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from dashboard.ledger.journal import anchor


@click.group(help="The balance journal's hash chain.")
def journal():
    pass


@journal.command("anchor")
@with_appcontext
def anchor_command():
    """Print the journal's chain head as one line of JSON: entry_id (the latest entry), hash (the
    SHA-256 over every balance's latest entry hash up to it) and at (when it was taken). Append it
    to a file kept away from the database (`>> anchors.jsonl`); `flask balances verify --anchor
    anchors.jsonl` then proves the journal still extends it. On PostgreSQL writers wait for an
    instant while the head is read."""
    click.echo(anchor())
