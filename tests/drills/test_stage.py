"""The drills' stage itself: a missing tool fails the drill, it is never skipped."""
from __future__ import annotations

import pytest

from .conftest import require


def test_a_missing_tool_fails_rather_than_skips():
    with pytest.raises(pytest.fail.Exception, match="dashboard-no-such-tool is not installed"):
        require("dashboard-no-such-tool")
    with pytest.raises(pytest.fail.Exception, match="initdb is not installed in "):
        require("initdb", "/nonexistent")
