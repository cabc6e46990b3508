"""Where things live: the repository root, the Kafka pom and log config,
and the `.run/` directory the local stack writes to."""

from __future__ import annotations

import os
from pathlib import Path

ROOT_MARKER = Path("deploy") / "kafka" / "pom.xml"


def repo_root() -> Path:
    """`FRONTDOOR_ROOT` if set, else the first directory above this package
    (editable install) or the working directory holding deploy/kafka/pom.xml."""
    explicit = os.environ.get("FRONTDOOR_ROOT")
    if explicit:
        return Path(explicit).resolve()
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / ROOT_MARKER).is_file():
                return candidate
    raise RuntimeError(
        f"cannot find the Front Door repository (no {ROOT_MARKER} above {Path.cwd()}); set FRONTDOOR_ROOT"
    )


def kafka_deploy_dir() -> Path:
    return repo_root() / "deploy" / "kafka"


def default_kafka_cache() -> Path:
    return repo_root() / ".cache" / "kafka"


def run_dir() -> Path:
    """Everything the local stack writes: kafka data, sqlite files, logs, pids."""
    return repo_root() / ".run"
