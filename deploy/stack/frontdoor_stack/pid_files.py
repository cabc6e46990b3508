"""The pid files of what `frontdoor-stack up` leaves running (.run/pids/):
written as each process starts, read back by `down` (and by a second `up`,
which refuses to start over a running stack), each pid trusted only while
that process is alive and is the one the file names."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from .monitoring import local as local_monitoring
from .school_receiver import MODULE as RECEIVER_MODULE
from .services import SERVICES, alive, terminate

RECEIVER = "school-receiver"  # its pid file's and log's name
PROMETHEUS, ALERTMANAGER = local_monitoring.PROMETHEUS, local_monitoring.ALERTMANAGER  # their pid files' names
KAFKA = "kafka"  # the single broker; a cluster's nodes are kafka-1, kafka-2...


def kafka_name(node_id: int | None) -> str:
    """The pid file's name of the single broker (None) or of a cluster's node."""
    return KAFKA if node_id is None else f"{KAFKA}-{node_id}"


def pids_dir(root: Path) -> Path:
    return root / "pids"


def _expected_cmdline(name: str) -> str:
    if name == RECEIVER:
        return RECEIVER_MODULE
    if name in (PROMETHEUS, ALERTMANAGER):
        return local_monitoring.PROMETHEUS_MARK if name == PROMETHEUS else local_monitoring.ALERTMANAGER_MARK
    return "kafka.Kafka" if name == KAFKA or name.startswith(f"{KAFKA}-") else f"frontdoor-{name}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def running_pid(root: Path, name: str) -> int | None:
    """The pid in .run/pids/<name>.pid if that process is alive and is ours."""
    pid_file = pids_dir(root) / f"{name}.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if alive(pid) and _expected_cmdline(name) in _cmdline(pid):
        return pid
    return None


def write_pid(root: Path, name: str, pid: int) -> None:
    pids_dir(root).mkdir(parents=True, exist_ok=True)
    (pids_dir(root) / f"{name}.pid").write_text(f"{pid}\n")


def kafka_names(root: Path) -> list[str]:
    """The broker's pid file name and every cluster node's found in .run/pids/, in order."""
    nodes = sorted(path.stem for path in pids_dir(root).glob(f"{KAFKA}-*.pid"))
    return [KAFKA, *nodes]


def stop_recorded(root: Path) -> list[str]:
    """Stop every process the pid files name (Prometheus and Alertmanager
    first, then the services, the school receiver, Kafka's broker or nodes:
    a cluster's nodes asked at once, since one by one the last would wait
    for a quorum that has gone). Idempotent: stale or foreign pids are
    ignored; pid files are removed."""
    stopped = []
    others = [PROMETHEUS, ALERTMANAGER, *(spec.name for spec in reversed(SERVICES)), RECEIVER]
    for group in (others, kafka_names(root)):
        running = {name: running_pid(root, name) for name in group}
        for found in [pid for pid in running.values() if pid is not None] if group is not others else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(found, signal.SIGTERM)
        for name, pid in running.items():
            if pid is not None:
                terminate(pid, timeout=30.0 if name.startswith(KAFKA) else 15.0)
                stopped.append(name)
            (pids_dir(root) / f"{name}.pid").unlink(missing_ok=True)
    return stopped
