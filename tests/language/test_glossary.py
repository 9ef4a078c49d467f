"""The glossary's terms are the only Japanese for their English terms in the catalogue.

Reads dashboard/translations/GLOSSARY.md (its "Terms" and "Labels" tables) and the Japanese
catalogue: every msgid that contains a term has a msgstr that contains the term's Japanese and
none of the renderings the glossary rules out; every label is rendered exactly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "dashboard/translations/GLOSSARY.md"
PO = ROOT / "dashboard/translations/ja/LC_MESSAGES/messages.po"

# Code inside prose, which is not English to translate: placeholders, header names written in
# capitals (ACCESS-KEY, HMAC-SHA256) or in Title-Case (Content-Type), identifiers (show_in_header),
# and anything with a slash (application/json, 192.0.2.0/24).
CODE = re.compile(
    r"%\([a-z_]+\)[sd]"
    r"|\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b"
    r"|\b(?:[A-Z][a-z]+-)+[A-Z][a-z]+\b"
    r"|\b\w+(?:_\w+)+\b"
    r"|\S+/\S+"
)


@dataclass(frozen=True)
class Term:
    english: str
    japanese: str
    never: tuple[str, ...]

    @property
    def pattern(self) -> re.Pattern:
        return re.compile(r"(?<!\w)" + r"[\s-]+".join(map(_inflected, self.english.lower().split())) + r"(?!\w)", re.IGNORECASE)


def _inflected(word: str) -> str:
    """A word and its plural or inflected forms: currency/currencies, sign/signed, key/keys."""
    if word.endswith("y") and len(word) > 2:
        return re.escape(word[:-1]) + "(?:y|ies)"
    return re.escape(word) + "(?:s|es|d|ed|ing)?"


def glossary_table(heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the Markdown table under `## heading` in GLOSSARY.md."""
    section = GLOSSARY.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


def glossary_terms() -> list[Term]:
    return [
        Term(english, japanese, tuple(word.strip() for word in never.split(",") if word.strip()))
        for english, japanese, never, _why in glossary_table("Terms")
    ]


def glossary_labels() -> dict[str, str]:
    return {english: japanese for english, japanese, _why in glossary_table("Labels")}


def catalogue() -> dict[str, str]:
    with PO.open("rb") as po_file:
        return {message.id: message.string for message in read_po(po_file) if message.id and isinstance(message.id, str)}


def terms_in(msgid: str, terms: list[Term]) -> list[Term]:
    """The glossary terms a msgid uses, longest first, each stretch of text counted once
    (so "Japanese yen" is not also "Japanese")."""
    text = CODE.sub(lambda match: "\0" * len(match.group()), msgid)
    found = []
    for term in sorted(terms, key=lambda term: len(term.english), reverse=True):
        if term.pattern.search(text):
            found.append(term)
            text = term.pattern.sub(lambda match: "\0" * len(match.group()), text)
    return found


def term_problems(msgid: str, msgstr: str, terms: list[Term]) -> list[str]:
    used = terms_in(msgid, terms)
    problems = [f"{term.english!r} is not rendered {term.japanese}" for term in used if term.japanese not in msgstr]
    rest = msgstr
    for term in used:  # another term's own Japanese is not a wrong rendering of this one
        rest = rest.replace(term.japanese, "")
    for term in used:
        problems += [f"{term.english!r} rendered with {word} (glossary: {term.japanese})" for word in term.never if word in rest]
    return problems


TERMS = glossary_terms()
LABELS = glossary_labels()
CATALOGUE = catalogue()


def test_the_glossary_is_read_and_names_the_widget_and_the_brief_terms():
    by_english = {term.english: term.japanese for term in TERMS}
    assert by_english["Net Assets"] == "総資産" and by_english["Available"] == "残高"
    assert by_english["In use"] == "利用中" and by_english["Show in header"] == "ヘッダーに表示"
    for english in ("API key", "access key", "secret", "IP address", "withdrawal", "sign in", "sign out", "Hide amounts", "try again"):
        assert english in by_english, english
    assert by_english["secret"] == "シークレットキー"
    assert all(term.japanese for term in TERMS) and len({term.english.lower() for term in TERMS}) == len(TERMS)
    assert LABELS["Wallet dashboard"] == "ウォレット"


@pytest.mark.parametrize(
    "msgid, expected",
    [
        ("Net assets leave out currencies without a rate:", {"Net Assets", "currency", "rate"}),
        ("Too many sign-in attempts. Please wait and try again.", {"sign in", "try again"}),
        ("You have signed out.", {"sign out"}),
        ("Your balances, each valued in Japanese yen.", {"balance", "Japanese yen"}),
        ("ACCESS-KEY is not an access key.", {"access key"}),
        ("Sign the request: send the ACCESS-KEY, ACCESS-NONCE and ACCESS-SIGNATURE headers.", {"request"}),
        ("Send exactly one field, show_in_header.", set()),
        ("The service is temporarily unavailable.", set()),
        ("Allowed client addresses (optional)", {"client address"}),
    ],
)
def test_terms_are_found_as_words_not_inside_code(msgid, expected):
    assert {term.english for term in terms_in(msgid, TERMS)} == expected


@pytest.mark.parametrize(
    "msgid, msgstr",
    [
        ("Net Assets", "純資産"),                      # the old, wrong rendering
        ("In Use", "使用中"),
        ("Available", "利用可能"),
        ("Secret", "シークレット"),                    # bare, without キー
        ("Balances by currency", "通貨別残高"),        # the Available column's word for all holdings
        ("Please try again.", "再度お試しください。"),
        ("Allowed addresses", "許可するアドレス"),
    ],
)
def test_a_wrong_rendering_is_caught(msgid, msgstr):
    assert term_problems(msgid, msgstr, TERMS)


@pytest.mark.parametrize("term", TERMS, ids=lambda term: term.english)
def test_every_msgid_using_a_term_has_its_one_rendering(term):
    problems = {
        msgid: found
        for msgid, msgstr in CATALOGUE.items()
        if term in terms_in(msgid, TERMS)
        for found in [[problem for problem in term_problems(msgid, msgstr, TERMS) if repr(term.english) in problem]]
        if found
    }
    assert problems == {}


def test_the_terms_are_checked_in_much_of_the_catalogue():
    # The matching itself works: a good part of the entries use at least one glossary term (a
    # third: sign-in, passkeys and charts brought many entries that name none).
    using = [msgid for msgid in CATALOGUE if terms_in(msgid, TERMS)]
    assert len(using) > len(CATALOGUE) // 3


@pytest.mark.parametrize("english", sorted(LABELS))
def test_every_label_is_rendered_exactly(english):
    assert english in CATALOGUE, "a label the catalogue no longer has: update GLOSSARY.md"
    assert CATALOGUE[english] == LABELS[english]
