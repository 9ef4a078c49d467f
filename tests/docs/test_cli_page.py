"""docs/cli.md against the `flask` commands the app registers: the generated reference is the
commands' own help, and every command and option has its section."""
from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"


def generator():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(text: str) -> dict[str, str]:
    """Each command's section of the reference, by its command path (`flask rates refresh`)."""
    parts = re.split(r"^#{3,4} `(flask[^`]*)`$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def all_commands(group: click.Group, path: str = "flask"):
    """The dashboard's own commands: Flask-Migrate's `db` is registered on app.cli too, but its
    help is Flask-Migrate's."""
    for name, command in sorted(group.commands.items()):
        if command.hidden or not command.callback.__module__.startswith("dashboard."):
            continue
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{path} {name}")


def test_the_reference_is_generated_from_the_commands_help():
    reference = generator()
    page = PAGE.read_text(encoding="utf-8")
    assert page == reference.render(page, reference.app_commands()), (
        "docs/cli.md's reference is out of date: run python scripts/cli_reference.py and commit it")


def test_every_command_and_option_has_its_place_on_the_page():
    reference = generator()
    group = reference.app_commands()
    found = sections(PAGE.read_text(encoding="utf-8"))
    commands = dict(all_commands(group))
    assert {"flask users create", "flask rates refresh", "flask compensation apply"} <= set(commands)
    assert "db" in group.commands and "flask db" not in commands
    assert set(commands) == set(found), "commands registered and commands described differ"
    for path, command in commands.items():
        for param in reference.documented_params(command):
            names = param.opts + param.secondary_opts if isinstance(param, click.Option) else [param.human_readable_name]
            for name in names:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", found[path]), f"{path}: {name} is not described"


def test_a_new_option_makes_the_page_out_of_date():
    reference = generator()
    group = reference.app_commands()
    page = PAGE.read_text(encoding="utf-8")
    # Copies: the commands are module-level objects the other tests use.
    sessions = copy.copy(group.commands["sessions"])
    purge = copy.copy(sessions.commands["purge"])
    purge.params = [*purge.params, click.Option(["--dry-run"], is_flag=True, help="Only count.")]
    sessions.commands = {**sessions.commands, "purge": purge}
    changed = click.Group(group.name, commands={**group.commands, "sessions": sessions})
    assert page == reference.render(page, group)
    assert page != reference.render(page, changed)
    assert "- `--dry-run`: Only count." in sections(reference.render(page, changed))["flask sessions purge"]
    assert "--dry-run" not in page
