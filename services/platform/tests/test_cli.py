"""The command line every service shares, run as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLOCATION_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    return subprocess.run([sys.executable, "-m", "allocation.main", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_create_list_expire_and_revoke_clients(tmp_path: Path) -> None:
    created = run(tmp_path, "create-client", "--name", "vs-7-key", "--roles", "agency", "--scope", "vs-7",
                  "--expires-in-days", "30")
    assert created.returncode == 0 and created.stdout.startswith("fda_")
    listed = run(tmp_path, "list-clients").stdout
    assert "vs-7-key\tagency\tvs-7\tactive" in listed and created.stdout.strip() not in listed
    assert run(tmp_path, "revoke-client", "--name", "vs-7-key").returncode == 0
    assert "\trevoked\t" in run(tmp_path, "list-clients").stdout
    refused = run(tmp_path, "revoke-client", "--name", "vs-7-key")
    assert refused.returncode == 2 and "no active client" in refused.stderr
    bad = run(tmp_path, "create-client", "--name", "Jane Smith", "--roles", "agency")
    assert bad.returncode == 2 and "identifier" in bad.stderr
