"""Refuses to serve a language whose compiled catalogue is missing or older than its source.

Without a `.mo` file Flask-Babel silently falls back to the English msgids, so a page marked
`lang="ja"` would show English words and nobody would be told. Every install path compiles the
catalogues (setup.py's build step, also run by `pip install -e .`); this check catches the
rest: a hand-edited `.po` not recompiled, or a copy of the tree without its build step.
"""
from __future__ import annotations

from pathlib import Path

FIX = "pybabel compile -d {directory}"
# Installing from a wheel may give both files the same moment of extraction, in either order.
SLACK_SECONDS = 2


class CatalogueError(RuntimeError):
    """A catalogue the app needs is not compiled, or is compiled from an older source."""


def stale_catalogues(directory: Path) -> list[str]:
    """The languages under `directory` whose messages.mo is missing or older than messages.po."""
    stale = []
    for po_file in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_file = po_file.with_suffix(".mo")
        if not mo_file.is_file() or mo_file.stat().st_mtime + SLACK_SECONDS < po_file.stat().st_mtime:
            stale.append(po_file.parent.parent.name)
    return stale


def check_catalogues(directory: Path) -> None:
    stale = stale_catalogues(directory)
    if stale:
        raise CatalogueError(
            f"compiled catalogue missing or older than its .po for: {', '.join(stale)}; "
            f"fix: {FIX.format(directory=directory)}"
        )
