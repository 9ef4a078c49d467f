"""The embedded default: the dashboard on a SQLite file, built and seeded as `scripts/run.sh` does."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from .schema import FLASK, REPO, app_environment

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demopass"


def prepare() -> Path:
    """A fresh SQLite file, migrated and holding the demo account; returns its path."""
    path = Path(tempfile.mkdtemp(prefix="bench-sqlite-")) / "dashboard.sqlite3"
    environment = environment_for(path)
    for command in (["db", "upgrade"], ["seed-demo", "--allow-production"]):
        subprocess.run([FLASK, "--app", "dashboard", *command], cwd=REPO, env=environment, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    return path


def environment_for(path: Path) -> dict:
    environment = app_environment("unused")
    environment["DATABASE_URL"] = f"sqlite:///{path}"
    return environment
