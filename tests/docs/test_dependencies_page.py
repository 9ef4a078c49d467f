"""Every package setup.cfg installs is on the dependencies page, which says why it is there."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "dependencies.md"


def declared() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in config["options.extras_require"].values():
        lines += extra.splitlines()
    return {re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0] for line in lines if line.strip()}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_package_is_on_the_dependencies_page():
    names = declared()
    assert {"Flask", "prometheus_client", "pytest"} <= names
    page = normal(PAGE.read_text(encoding="utf-8"))
    assert [name for name in sorted(names) if normal(name) not in page] == []
