"""No tracked text file names a folder of one particular machine: a workspace, a home folder, a
named file under /tmp. Instructions say it in words any machine has ("a temporary folder", "the
virtualenv's Python")."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Written so that this file does not match itself: each alternative needs a name after the slash.
MACHINE_PATH = re.compile(
    r"(?<![\w.~-])(?:"
    r"/(?:work|root|srv/[\w-]+|opt/[\w-]+)/[\w.$-]"   # a workspace or a service folder
    r"|/home/[a-z_][\w-]*"                              # someone's home
    r"|/Users/[A-Za-z][\w-]*"
    r"|/tmp/[\w.-]*[A-Za-z][\w.-]*"                     # a named file or folder in /tmp
    r"|[A-Z]:\\\\Users\\\\"
    r")"
)


# The image's own file system is the same on every machine that builds it.
IMAGE_FILES = {"Containerfile", ".containerignore"}


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    files = []
    for name in filter(None, names):
        path = ROOT / name.decode()
        if not path.is_file() or path.name in IMAGE_FILES:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def machine_paths(text: str) -> list[str]:
    return [match.group(0) for match in MACHINE_PATH.finditer(text)]


def test_the_pattern_finds_what_it_should_and_nothing_else():
    found = machine_paths("cd /wor" "k/main; PYTHON=/wor" "k/venv/bin/python; /ho" "me/alice/x; /tm" "p/bench.json; /Us" "ers/bob")
    assert len(found) == 5, found
    assert machine_paths("/dev/null /proc/1/stat /usr/bin/chromium a temporary folder $(mktemp -d) http://x/work/y") == []


def test_no_tracked_text_file_names_a_machines_folder():
    files = tracked_text_files()
    assert any(path.name == "README.md" for path in files)
    offenders = [f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
                 for path in files
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if machine_paths(line)]
    assert not offenders, "paths of one machine; say it in words any machine has:\n" + "\n".join(offenders)
