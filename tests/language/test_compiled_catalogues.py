"""The app refuses to start on a catalogue that is not compiled or older than its source,
instead of serving English words on a page marked lang="ja"."""
from __future__ import annotations

import os
import shutil

import pytest

from dashboard import create_app
from dashboard.language.catalogues import CatalogueError, check_catalogues, stale_catalogues
from dashboard.language.i18n import TRANSLATIONS_DIR


@pytest.fixture
def translations(tmp_path):
    target = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, target)
    return target


def test_the_installed_catalogues_are_compiled_and_current():
    assert (TRANSLATIONS_DIR / "ja" / "LC_MESSAGES" / "messages.mo").is_file()
    assert stale_catalogues(TRANSLATIONS_DIR) == []


def test_a_missing_compiled_catalogue_stops_the_start_with_the_fix(translations):
    (translations / "ja" / "LC_MESSAGES" / "messages.mo").unlink()
    with pytest.raises(CatalogueError, match=r"for: ja; fix: pybabel compile -d .*translations"):
        check_catalogues(translations)
    with pytest.raises(CatalogueError):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "BABEL_TRANSLATION_DIRECTORIES": str(translations)})


def test_a_source_edited_after_compiling_stops_the_start(translations):
    po_file = translations / "ja" / "LC_MESSAGES" / "messages.po"
    mo_time = (translations / "ja" / "LC_MESSAGES" / "messages.mo").stat().st_mtime
    os.utime(po_file, (mo_time + 60, mo_time + 60))
    assert stale_catalogues(translations) == ["ja"]


def test_both_files_extracted_in_one_moment_count_as_current(translations):
    mo_file = translations / "ja" / "LC_MESSAGES" / "messages.mo"
    mo_time = mo_file.stat().st_mtime
    os.utime(translations / "ja" / "LC_MESSAGES" / "messages.po", (mo_time + 1, mo_time + 1))
    assert stale_catalogues(translations) == []
