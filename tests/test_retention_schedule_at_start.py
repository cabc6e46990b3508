"""A wrong retention schedule stops every service at start (`serve`), before
it opens a port: the process exits non-zero and its last line names the
variable or the field and the rule, never the file's text."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from frontdoor_contracts.retention import SCHEDULE_ENV

SERVICES = ("contacts", "allocation", "notifications", "outcomes")
PACKAGED = resources.files("frontdoor_contracts").joinpath("retention.toml").read_text()
SECRET = "Jane Doe 2015-01-02"
UNKNOWN_CLASS = PACKAGED + f'\n[classes.biometrics]\ntitle = "{SECRET}"\ntables = ["contacts.x"]\ndays = 30\n' \
    f'from = "x"\nwhy = "x"\nbasis = "x"\nenforced = "x"\ntransit = false\nassumed = true\n'


def start(service: str, schedule: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, SCHEDULE_ENV: str(schedule), f"{service.upper()}_PORT": "1",
           f"{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           f"{service.upper()}_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    return subprocess.run([sys.executable, "-m", f"{service}.main", "serve"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


@pytest.mark.parametrize("service", SERVICES)
def test_a_schedule_naming_a_class_nothing_enforces_stops_the_service(service: str, tmp_path: Path) -> None:
    (tmp_path / "ours.toml").write_text(UNKNOWN_CLASS)
    ended = start(service, tmp_path / "ours.toml", tmp_path)
    assert ended.returncode != 0
    last = ended.stderr.strip().splitlines()[-1]
    assert last.endswith("ScheduleError: classes.biometrics: is not a class the platform knows (nothing would "
                         "enforce it)"), last
    assert SECRET not in ended.stderr + ended.stdout
    assert "Traceback" not in ended.stderr  # one line for the operator, not the code's insides


@pytest.mark.parametrize("service", ["notifications"])
def test_a_directory_stops_the_service_naming_the_variable(service: str, tmp_path: Path) -> None:
    ended = start(service, tmp_path, tmp_path)
    assert ended.returncode != 0
    assert ended.stderr.strip().splitlines()[-1].endswith(
        f"ScheduleError: {SCHEDULE_ENV}: must name a regular file (not a directory or a device)")
