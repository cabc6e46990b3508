"""What the monitoring tests share: Debian's Prometheus tools (`make
prometheus` installs them; the tests take them from PATH) and the files
under deploy/monitoring/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
MONITORING = REPO / "deploy" / "monitoring"
RULES = MONITORING / "prometheus" / "rules"
PROMTOOL_TESTS = MONITORING / "prometheus" / "tests"
RUNBOOKS = REPO / "docs" / "runbooks"


def tool(name: str) -> str:
    """The tool's path on PATH; the test fails saying how to install it when it is not there."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not on PATH: `make prometheus` installs Debian's prometheus and "
                    "prometheus-alertmanager (promtool, amtool)")
    return found


def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(args[0]), *args[1:]], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule in the checked-in rules files."""
    return [rule for path in sorted(RULES.glob("*.yml")) for group in load(path)["groups"]
            for rule in group["rules"] if "alert" in rule]
