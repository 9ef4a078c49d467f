"""The alert rules pass Prometheus' own checks and unit tests, and each names a runbook section
that exists in docs/operations.md."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import missing

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus"
ALERTS = ("RatesStale", "RateRefreshFailing", "HighServerErrorRatio", "ReadinessFailing", "ChangeFeedSilent",
          "SignInFailuresSpiking", "SignedApiFailuresSpiking", "StreamFiguresLate", "ReplicasNotRead")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        missing("promtool is not installed (Debian's prometheus package; scripts/test.sh installs it as root)")
    return path


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load((RULES / "alerts.yml").read_text())["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules():
    result = subprocess.run([promtool(), "check", "rules", "alerts.yml"], cwd=RULES, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests_pass():
    result = subprocess.run([promtool(), "test", "rules", "alerts.test.yml"], cwd=RULES, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing():
    tests = yaml.safe_load((RULES / "alerts.test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert fired == set(ALERTS) == {rule["alert"] for rule in rules()}


def anchors(markdown: str) -> set[str]:
    """Heading anchors as MkDocs and GitHub make them: lower case, spaces to hyphens, punctuation dropped."""
    found = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        found.add(re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-"))
    return found


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_runbook_section(alert):
    [rule] = [rule for rule in rules() if rule["alert"] == alert]
    page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
    assert page == "docs/operations.md"
    assert anchor in anchors((ROOT / page).read_text())
    assert rule["labels"]["severity"] in ("page", "ticket")


def test_alerts_use_only_metrics_the_app_exports():
    import dashboard.metrics as metrics

    exported = {metric._name for metric in vars(metrics).values() if hasattr(metric, "_name")}
    exported |= {"dashboard_rate_age_seconds", "dashboard_readiness_check"}  # operations/scrape.py
    used = set(re.findall(r"\b(dashboard_\w+)", (RULES / "alerts.yml").read_text()))
    for name in used:
        base = re.sub(r"_(total|count|sum|bucket)$", "", name)
        assert name in exported or base in exported, name
