"""Start a process and wait until it answers, and stop it: the one helper
the stack tool, the end-to-end tests and the benchmark use."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


class ProcessError(RuntimeError):
    pass


def start(command: Sequence[str], env: Mapping[str, str], log_file: Path,
          new_session: bool = True) -> subprocess.Popen[bytes]:
    """Start `command` with its output appended to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        return subprocess.Popen(list(command), env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=new_session)


def wait_until_answers(process: subprocess.Popen[bytes], url: str, log_file: Path, timeout: float = 60.0,
                       name: str = "service") -> None:
    """Poll `url` until it answers 200; fail fast if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessError(f"{name} exited with code {process.returncode} while starting; see {log_file}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise ProcessError(f"{name} did not answer {url} within {timeout:.0f}s; see {log_file}")


def start_and_wait(command: Sequence[str], env: Mapping[str, str], log_file: Path, url: str,
                   timeout: float = 60.0, name: str = "service") -> subprocess.Popen[bytes]:
    process = start(command, env, log_file)
    try:
        wait_until_answers(process, url, log_file, timeout, name)
    except ProcessError:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, wait, then SIGKILL."""
    terminate(process.pid, timeout)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=1)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL now (crash tests)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def terminate(pid: int, timeout: float = 15.0) -> bool:
    """SIGTERM, wait, then SIGKILL. True if the process was running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap our own child, if it is one
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # a zombie is as good as gone
    return not (stat.is_file() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")
