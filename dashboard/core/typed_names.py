"""Names a customer types (a passkey's name): characters that would make one show as something
else. Bidirectional embeddings, overrides and isolates reorder the text shown after them
(a name "‮yek-krow" reads "work-key"), and the line and paragraph separators break a one-line
name across lines; neither belongs in a name, so such a name is refused rather than stored."""
from __future__ import annotations

# U+202A-U+202E: LRE, RLE, PDF, LRO, RLO; U+2066-U+2069: LRI, RLI, FSI, PDI;
# U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR.
HIDDEN_CONTROLS = frozenset(
    [chr(code) for code in range(0x202A, 0x202F)] + [chr(code) for code in range(0x2066, 0x206A)] + ["\u2028", "\u2029"]
)


def hidden_controls_in(name: str) -> list[str]:
    """The refused characters the name holds, each once, in order of appearance."""
    found: list[str] = []
    for character in name:
        if character in HIDDEN_CONTROLS and character not in found:
            found.append(character)
    return found


def code_points(characters: list[str]) -> str:
    """The characters as "U+202E, U+2028", for a message that names what was refused."""
    return ", ".join(f"U+{ord(character):04X}" for character in characters)
