"""gunicorn.conf.py's logger: the app writes one line per request itself, so gunicorn builds no
access-log line at all (with logconfig_dict set, its own logger would build one per request for
a logger without a handler: 12 % of a sync worker's CPU on /api/balance)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own: the file sets PROMETHEUS_MULTIPROC_DIR when it is read.
CHECK = """
import runpy
from unittest import mock
from gunicorn.config import Config
from gunicorn.glogging import Logger

settings = runpy.run_path("gunicorn.conf.py")
cfg = Config()
for name in ("accesslog", "logconfig_dict", "logger_class"):
    cfg.set(name, settings[name])

def builds_a_line(logger_class):
    logger = logger_class(cfg)
    with mock.patch.object(logger, "atoms", side_effect=RuntimeError("access fields built")):
        try:
            logger.access(mock.Mock(), mock.Mock(), {}, mock.Mock())
        except RuntimeError:
            return True
    return False

print(cfg.logger_class is settings["AppLogsEachRequest"], builds_a_line(cfg.logger_class), builds_a_line(Logger))
"""


def test_gunicorn_builds_no_access_log_line_the_app_writes_its_own():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ours, builds, gunicorns_own = done.stdout.split()
    assert ours == "True"
    assert builds == "False"
    assert gunicorns_own == "True"  # what the setting is there for: gunicorn's own logger would
