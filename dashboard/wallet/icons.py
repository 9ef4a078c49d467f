"""Which icon a currency is shown with: its own logo from the vendored set, or the set's drawn
generic coin for a code the set does not have (static/icons/currencies/README.md)."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import current_app, url_for

ICON_FOLDER = "icons/currencies"
FALLBACK = "generic"


@functools.cache
def _codes_with_icons(folder: str) -> frozenset[str]:
    # Read once per static folder: the files are part of the release, not data.
    return frozenset(path.stem for path in Path(folder, ICON_FOLDER).glob("*.svg"))


def currency_icon(code: str) -> str:
    """The URL of code's icon."""
    name = code if code in _codes_with_icons(current_app.static_folder) else FALLBACK
    return url_for("static", filename=f"{ICON_FOLDER}/{name}.svg")


def init_app(app) -> None:
    app.add_template_global(currency_icon, "currency_icon")
