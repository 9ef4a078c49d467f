"""docs/configuration.md's settings table against the environment variables the app reads, both ways.

What the app reads is found twice over. Dynamically: the factory runs (config.from_environment and
the start-up checks with it) with os.environ replaced by a mapping that records every name read
from inside the dashboard package and answers "unset" to it. Statically: every
`os.environ.get(NAME)`, `os.environ[NAME]`, `os.getenv(NAME)` and `NAME in os.environ` in
dashboard/, whatever module it is in and whenever it runs (a command's body, a request). A read
whose name is neither a literal nor a module-level constant can only be seen by the first, so
outside config.py (which the factory runs whole) it fails here: name the variable with a constant.
"""
from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path

import dashboard
from dashboard import create_app

ROOT = Path(__file__).resolve().parents[2]
# The package as imported (the checkout after `pip install -e .`, site-packages after `pip install .`).
PACKAGE = Path(dashboard.__file__).resolve().parent
PAGE = ROOT / "docs" / "configuration.md"
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def settings_table(text: str, heading: str = "## Settings") -> list[str]:
    """The variables named in the first column of the table under heading, in order."""
    lines = text.splitlines()
    assert heading in lines, f"docs/configuration.md has no {heading!r} section"
    rows: list[str] = []
    for line in lines[lines.index(heading) + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    assert len(rows) > 2, "the settings table is missing or empty"
    header, _rule, *body = rows
    assert header.split("|")[1].strip() == "variable", f"the settings table's first column must be 'variable': {header}"
    names = []
    for row in body:
        match = VARIABLE.fullmatch(row.split("|")[1].strip())
        assert match, f"a settings row must name one `VARIABLE` in its first cell: {row}"
        names.append(match[1])
    return names


def _is_mapping_machinery(filename: str) -> bool:
    """Mapping.get and os.getenv, which stand between a caller and __getitem__ (frozen or not)."""
    return Path(filename.strip("<>").removeprefix("frozen ")).stem in {"_collections_abc", "os"}


class RecordingEnvironment(MutableMapping):
    """os.environ for the duration of a test: reads from the dashboard package are recorded and
    see every variable unset (so the defaults are taken); everyone else sees the real environment."""

    def __init__(self, real):
        self.real = real
        self.read: set[str] = set()

    def _from_dashboard(self) -> bool:
        frame = sys._getframe(2)
        # Mapping.get calls __getitem__: skip the frames of collections.abc itself.
        while frame is not None and _is_mapping_machinery(frame.f_code.co_filename):
            frame = frame.f_back
        return frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(PACKAGE)

    def __getitem__(self, key):
        if self._from_dashboard():
            self.read.add(key)
            raise KeyError(key)
        return self.real[key]

    def __contains__(self, key):
        if self._from_dashboard():
            self.read.add(key)
            return False
        return key in self.real

    def __setitem__(self, key, value):
        self.real[key] = value

    def __delitem__(self, key):
        del self.real[key]

    def __iter__(self):
        return iter(self.real)

    def __len__(self):
        return len(self.real)


def read_while_starting(monkeypatch) -> set[str]:
    recording = RecordingEnvironment(os.environ)
    monkeypatch.setattr(os, "environ", recording)
    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.undo()
    return recording.read


def _is_os_environ(node: ast.AST, aliases: set[str]) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os":
        return True
    return isinstance(node, ast.Name) and node.id in aliases


def read_in_source(paths=None) -> tuple[set[str], list[str]]:
    """Names read from os.environ anywhere in dashboard/, and the reads whose name it cannot tell."""
    names: set[str] = set()
    unknown: list[str] = []
    for path in paths or sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                     for target in node.targets if isinstance(target, ast.Name)}
        # `from os import environ, getenv`, and `env = os.environ` anywhere in the module.
        aliases = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and node.module == "os" for alias in node.names if alias.name == "environ"}
        getenvs = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and node.module == "os" for alias in node.names if alias.name == "getenv"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _is_os_environ(node.value, aliases):
                aliases |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        for node in ast.walk(tree):
            key = None
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Attribute) and function.attr in {"get", "pop", "setdefault"} \
                        and _is_os_environ(function.value, aliases):
                    key = node.args[0] if node.args else None
                elif (isinstance(function, ast.Attribute) and function.attr == "getenv"
                      and isinstance(function.value, ast.Name) and function.value.id == "os") \
                        or (isinstance(function, ast.Name) and function.id in getenvs):
                    key = node.args[0] if node.args else None
                else:
                    continue
            elif isinstance(node, ast.Subscript) and _is_os_environ(node.value, aliases):
                key = node.slice
            elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn) \
                    and _is_os_environ(node.comparators[0], aliases):
                key = node.left
            else:
                continue
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
            elif isinstance(key, ast.Name) and key.id in constants:
                names.add(constants[key.id])
            elif path != PACKAGE / "config.py":
                unknown.append(f"{path.name}:{node.lineno}")
    return names, unknown


def test_the_settings_table_names_each_variable_once():
    names = settings_table(PAGE.read_text(encoding="utf-8"))
    assert len(names) == len(set(names)), sorted({name for name in names if names.count(name) > 1})


def test_every_variable_the_app_reads_is_documented_and_every_documented_one_is_read(monkeypatch):
    documented = set(settings_table(PAGE.read_text(encoding="utf-8")))
    static, unknown = read_in_source()
    assert not unknown, f"os.environ read with a name this test cannot see; use a module-level constant: {unknown}"
    read = read_while_starting(monkeypatch) | static
    assert read - documented == set(), "read by the app, missing from docs/configuration.md's settings table"
    assert documented - read == set(), "in docs/configuration.md's settings table, read nowhere in the app"


def test_the_factory_reads_what_config_reads(monkeypatch):
    """The recording sees the settings at all: a few every deployment sets, and one read only by
    a helper (_int), not by from_environment's own `env.get`."""
    read = read_while_starting(monkeypatch)
    assert {"SECRET_KEY", "DATABASE_URL", "DASHBOARD_ENV", "READ_CACHE_SECONDS", "TRUSTED_PROXIES"} <= read


def test_the_source_scan_finds_reads_outside_config():
    static, _ = read_in_source()
    # cli/compensation.py reads it through a module-level constant, only while a command runs.
    assert "DASHBOARD_TEST_KILL_AFTER_BATCHES" in static


def test_a_row_removed_from_the_table_is_noticed(monkeypatch):
    text = PAGE.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if not line.startswith("| `SECRET_KEY` |"))
    assert "SECRET_KEY" not in settings_table(without)
    static, _ = read_in_source()
    assert "SECRET_KEY" in (read_while_starting(monkeypatch) | static) - set(settings_table(without))


def test_the_source_scan_knows_every_way_of_reading(tmp_path):
    module = tmp_path / "reader.py"
    module.write_text(
        "import os\n"
        "from os import environ as env, getenv\n"
        "NAME = 'E'\n"
        "def read(name):\n"
        "    alias = os.environ\n"
        "    return (os.environ['A'], os.getenv('B'), 'C' in os.environ, env.get('D'), os.environ.get(NAME),\n"
        "            getenv('F'), alias.get('G'), os.environ.get(name))\n"
    )
    names, unknown = read_in_source([module])
    assert names == {"A", "B", "C", "D", "E", "F", "G"}
    assert unknown == ["reader.py:7"]


SCRIPTS_HEADING = "## Variables of the scripts"
SHELL_SCRIPTS = [*sorted((ROOT / "scripts").glob("*.sh")), ROOT / ".ci" / "run", ROOT / "bench" / "run.sh"]


def shell_inputs(script: str) -> set[str]:
    """Variables a shell script takes from its environment: read (`$NAME`, `${NAME…}`), upper
    case, and either given a default (`${NAME:-…}`) or never assigned by the script itself."""
    read = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", script))
    defaulted = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):?-", script))
    assigned = set(re.findall(r"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=", script, flags=re.MULTILINE))
    return {name for name in read if name in defaulted or name not in assigned} - SHELL_OWN


# Variables bash (and POSIX) set for every script: not inputs anyone documents.
SHELL_OWN = {"RANDOM", "SECONDS", "TMPDIR", "HOME", "PATH", "PWD", "UID", "EUID", "BASH_SOURCE", "LINENO", "_"}


def test_every_variable_a_script_takes_is_documented():
    text = PAGE.read_text(encoding="utf-8")
    documented = set(settings_table(text)) | set(settings_table(text, SCRIPTS_HEADING))
    taken = {name: script.relative_to(ROOT) for script in SHELL_SCRIPTS for name in shell_inputs(script.read_text(encoding="utf-8"))}
    assert {"PYTEST_WORKERS", "VENV", "TEST_DATABASE_URL"} <= set(taken)
    assert {name: str(script) for name, script in taken.items() if name not in documented} == {}


def test_every_variable_of_the_scripts_table_is_read_somewhere():
    sources = [*SHELL_SCRIPTS, *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "bench").rglob("*.py"))]
    text = "\n".join(path.read_text(encoding="utf-8") for path in sources if path != Path(__file__).resolve())
    for name in settings_table(PAGE.read_text(encoding="utf-8"), SCRIPTS_HEADING):
        assert re.search(rf"\b{name}\b", text), f"{name} is in the scripts' table but read nowhere"


def test_shell_inputs_tells_inputs_from_the_scripts_own_variables():
    script = 'A="${A:-x}"\nB=1\necho "$B $C ${D:-2}"\nexport E\nE=3\necho "$E"\n'
    assert shell_inputs(script) == {"A", "C", "D"}


SERVER_HEADING = "## Variables of the server"
# Read by gunicorn itself, not by gunicorn.conf.py: PORT (its default bind) and WEB_CONCURRENCY.
READ_BY_GUNICORN = {"PORT", "WEB_CONCURRENCY"}


def test_the_server_table_equals_what_gunicorn_conf_reads():
    names, unknown = read_in_source([ROOT / "gunicorn.conf.py"])
    assert unknown == []
    assert "GRACEFUL_TIMEOUT" in names
    documented = set(settings_table(PAGE.read_text(encoding="utf-8"), SERVER_HEADING))
    assert names | READ_BY_GUNICORN == documented
