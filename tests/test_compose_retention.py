"""docker-compose.yml gives every container that reads the retention
schedule (the four services and the topics tool) FRONTDOOR_RETENTION_SCHEDULE,
naming a file mounted read-only at that path; by default the packaged
schedule, which loads as the services load it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from frontdoor_contracts.retention import SCHEDULE_ENV, default, load
from frontdoor_stack.services import SERVICES

ROOT = Path(__file__).resolve().parent.parent
READERS = ("topics", *(spec.name for spec in SERVICES))
MOUNT = re.compile(r"^\$\{" + SCHEDULE_ENV + r":-(?P<default>[^}]+)\}:(?P<target>[^:]+):ro$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize("name", READERS)
def test_each_reader_is_given_the_schedule_mounted_where_the_variable_says(compose: dict[str, Any],
                                                                          name: str) -> None:
    service = compose["services"][name]
    environment = env_file(ROOT / service["env_file"])
    path = environment[SCHEDULE_ENV]
    mounts = [m for m in (MOUNT.match(v) for v in service["volumes"] if isinstance(v, str)) if m]
    assert [m["target"] for m in mounts] == [path]
    source = ROOT / mounts[0]["default"]
    assert source.resolve() == (ROOT / "contracts/frontdoor_contracts/retention.toml").resolve()
    assert load(source).classes == default().classes  # what the container reads when the host sets nothing
    assert SCHEDULE_ENV not in service.get("environment", {})  # one place says where it is
