"""Jars a small pom pins, copied from Maven Central into a cache folder once
(`mvn dependency:copy-dependencies`): the folder is current while its marker
holds the pom's SHA-256, so changing a pinned version fetches again, and a
failed download leaves the previous folder (or none), never half of one."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

FETCH_MARKER = ".frontdoor-fetched"


class FetchError(RuntimeError):
    pass


def _pom_fingerprint(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def is_fetched(pom: Path, target: Path) -> bool:
    marker = target / FETCH_MARKER
    return marker.is_file() and marker.read_text().strip() == _pom_fingerprint(pom)


def fetch_pom(pom: Path, target: Path, wanted: str, *options: str) -> bool:
    """The dependencies `pom` pins, copied from Maven Central into `target` (through a staging folder, so a
    failed download leaves no half cache), unless the marker there says they are this pom's already. Returns
    True when it downloaded. `wanted`: a glob that must match a fetched jar."""
    if is_fetched(pom, target):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError(f"mvn is not on PATH: it fetches {pom.name}'s jars from Maven Central")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = subprocess.run(
        [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", *options, f"-DoutputDirectory={staging}"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not any(staging.glob(wanted)):
        raise FetchError(f"mvn could not fetch {pom.name}'s jars:\n{result.stdout}\n{result.stderr}")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    (target / FETCH_MARKER).write_text(_pom_fingerprint(pom) + "\n")
    return True
