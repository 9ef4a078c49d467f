"""Which icon a currency is shown with: its own logo from the vendored set, or the set's drawn
generic coin for a code the set does not have (static/icons/currencies/README.md)."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import current_app, request, url_for

ICON_FOLDER = "icons/currencies"
FALLBACK = "generic"
EXTENSION = "dashboard_currency_icons"
# Distinct (mount point, currency) pairs remembered per app before the memo starts afresh.
MEMO_SIZE = 1024


@functools.cache
def _codes_with_icons(folder: str) -> frozenset[str]:
    # Read once per static folder: the files are part of the release, not data.
    return frozenset(path.stem for path in Path(folder, ICON_FOLDER).glob("*.svg"))


def currency_icon(code: str) -> str:
    """The URL of code's icon: built once per mount point, since every row of the wallet, drawn
    again whenever a rate moves, asks for one."""
    urls = current_app.extensions.setdefault(EXTENSION, {})
    key = (request.script_root, code)
    url = urls.get(key)
    if url is None:
        if len(urls) >= MEMO_SIZE:
            urls.clear()
        name = code if code in _codes_with_icons(current_app.static_folder) else FALLBACK
        url = urls[key] = url_for("static", filename=f"{ICON_FOLDER}/{name}.svg")
    return url


def init_app(app) -> None:
    app.add_template_global(currency_icon, "currency_icon")
