"""README.md is a front door: at most 200 lines, the two commands, a link to every page of the
documentation site, no figures; README.ja.md has the same commands, and each links to the other."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_JA = ROOT / "README.ja.md"
COMMANDS = ("bash scripts/run.sh", "bash scripts/test.sh")
MAX_LINES = 200


def nav_pages() -> list[str]:
    """Every page of mkdocs.yml's nav, as a path under docs/."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages: list[str] = []

    def walk(entries):
        for entry in entries:
            for value in (entry.values() if isinstance(entry, dict) else [entry]):
                walk(value) if isinstance(value, list) else pages.append(value)

    walk(config["nav"])
    return pages


def links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_the_readme_is_short_and_holds_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    for command in COMMANDS:
        assert f"    {command}" in lines, f"README.md must show `{command}` as a command line of its own"
        assert (ROOT / command.split()[1]).is_file()


def test_the_japanese_readme_holds_the_same_commands_and_the_two_link_to_each_other():
    english = README.read_text(encoding="utf-8")
    japanese = README_JA.read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"\n    {command}\n" in japanese, f"README.ja.md must show `{command}`"
    assert "README.ja.md" in links(english)
    assert "README.md" in links(japanese)
    # Japanese prose, not a copy of the English: the exchange's own words are there.
    for word in ("総資産", "残高", "利用中", "ヘッダーに表示"):
        assert word in japanese, f"README.ja.md does not say {word}"


def test_the_readmes_link_to_every_page_of_the_documentation():
    pages = nav_pages()
    assert "index.md" in pages and "configuration.md" in pages
    for readme in (README, README_JA):
        targets = set(links(readme.read_text(encoding="utf-8")))
        for page in pages:
            assert f"docs/{page}" in targets, f"{readme.name} does not link to docs/{page}"


def test_every_local_link_of_the_readmes_exists():
    for readme in (README, README_JA):
        for target in links(readme.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("#"):
                continue
            assert (ROOT / target.split("#", 1)[0]).exists(), f"{readme.name} links to {target}, which does not exist"


def test_the_readme_is_no_log_of_measurements():
    text = README.read_text(encoding="utf-8")
    figures = re.findall(r"\d[\d,.]*\s*(?:ms|req/s|µs|%)(?!\w)", text)
    assert not figures, f"measurements belong in docs/performance.md: {figures}"


def japanese_style_rules():
    """The catalogue's style rules (tests/language/test_japanese_style.py), for the README's prose too."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("japanese_style", ROOT / "tests" / "language" / "test_japanese_style.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [module.half_width_punctuation, module.full_width_latin, module.spacing, module.desu_masu, module.never_words]


def prose_lines(markdown: str) -> list[str]:
    """The README's sentences and list items, with code, link targets, URLs and emphasis taken out."""
    lines = []
    for paragraph in markdown.split("\n\n"):
        if paragraph.startswith(("    ", "|", "#", "[English]")):
            continue
        for line in paragraph.splitlines():
            line = re.sub(r"`[^`]*`", "X", line)
            line = re.sub(r"\]\([^)]*\)", "]", line).replace("[", "").replace("]", "")
            line = re.sub(r"https?://\S+", "X", line).replace("**", "")
            lines.append(line.removeprefix("- "))
    return lines


def test_the_japanese_readme_keeps_the_catalogues_style():
    lines = prose_lines(README_JA.read_text(encoding="utf-8"))
    assert len(lines) > 10
    rules = japanese_style_rules()
    assert rules[3]("デモを起動する。")  # the rules do catch a plain-form sentence
    broken = [(rule.__name__, line[:60]) for line in lines for rule in rules if rule(line)]
    assert not broken
