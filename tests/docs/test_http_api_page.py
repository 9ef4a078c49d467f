"""docs/http-api.md against the OpenAPI document: every path and method is described, and the
page's table of paths names none the document lacks."""
from __future__ import annotations

import re
from pathlib import Path

from dashboard.api_description.document import document

PAGE = Path(__file__).resolve().parents[2] / "docs" / "http-api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> set[str]:
    return {f"{method.upper()} {path}" for path, item in document()["paths"].items() for method in item if method in METHODS}


def test_every_operation_of_the_document_is_described():
    text = PAGE.read_text(encoding="utf-8")
    assert operations(), "the OpenAPI document has no paths"
    for operation in operations():
        # In the table of paths, and as the heading of (or within) its own section.
        assert f"| `{operation}` |" in text, f"{operation} is missing from the page's table of paths"
        assert re.search(rf"`{re.escape(operation)}(\?[^`]*|\[[^`]*)?`", text.split("## Signing in", 1)[1]), (
            f"{operation} has no section of its own")


def test_the_table_names_only_the_documents_operations():
    text = PAGE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `((?:GET|POST|PUT|PATCH|DELETE) /[^`]*)` \|", text, flags=re.MULTILINE))
    assert listed == operations()
