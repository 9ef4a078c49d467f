"""User data made safe to print on an operator's terminal, and safe to open in a spreadsheet."""
from __future__ import annotations

import re

# C0 and C1 controls and DEL: escape sequences (ESC [ ...), bells, carriage returns that
# overwrite what the line said, and the 8-bit CSI (U+009B). Also the bidirectional overrides
# that reorder what is shown (Trojan Source).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def shown(value: object) -> str:
    """str(value) with every control character written as a visible escape, e.g. \\x1b."""
    return _CONTROLS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(value))


def neutralize_cell(value: str) -> str:
    """A text cell that a spreadsheet would take for a formula, prefixed with a quote (OWASP)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def restore_cell(value: str) -> str:
    """The inverse of neutralize_cell, so an exported file imports back unchanged."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
