"""Every string a person can see has a Japanese translation, and none is fuzzy."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "dashboard/translations/ja/LC_MESSAGES/messages.po"
METHODS = [("dashboard/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def extracted_ids() -> set[str]:
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_extracted_string_is_translated_and_not_fuzzy():
    with PO.open("rb") as po_file:
        catalog = read_po(po_file)
    translations = {message.id if isinstance(message.id, str) else message.id[0]: message for message in catalog if message.id}
    ids = extracted_ids()
    assert len(ids) > 50  # the extraction itself worked
    untranslated = sorted(i for i in ids if i not in translations or not translations[i].string)
    fuzzy = sorted(i for i in ids if i in translations and translations[i].fuzzy)
    assert untranslated == [], "run scripts/update-catalogue.sh and translate these"
    assert fuzzy == []


def test_japanese_pages_come_from_the_compiled_catalogue(client):
    client.set_cookie("lang", "ja")  # the visitor's choice: the browser's language alone does not pick the page
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert "ログイン" in html and "メールアドレス" in html and "パスワード" in html
    assert ">Sign in<" not in html and ">Email<" not in html
