"""Processes the bench starts: the project's services (as
frontdoor_stack.services starts them, but on free ports, in the bench's
scratch directory and consumer groups) and the anchors' Python processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..kafka_broker import free_port
from ..services import ServiceProcess, ServiceSpec, terminate

# Everything started, so an interrupted bench can stop it all (`stop_all`).
STARTED: list[BenchService | PythonProcess] = []


def stop_all() -> None:
    for process in reversed(STARTED):
        process.stop()


class BenchService(ServiceProcess):
    """A project service on a free port, with a few extra settings."""

    def __init__(self, name: str, kafka_bootstrap: str, workdir: Path, extra_env: dict[str, str] | None = None):
        super().__init__(ServiceSpec(name, free_port()), kafka_bootstrap, workdir, extra_env)

    def start(self) -> None:
        super().start()
        STARTED.append(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.spec.port}"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class PythonProcess:
    """`python -m <module> <args>` with its output in a log file."""

    def __init__(self, module: str, args: list[str], log_file: Path):
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = log_file
        with open(log_file, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
                                            start_new_session=True)
        STARTED.append(self)

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{url} process exited with {self.process.returncode}; see {self.log_file}")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; see {self.log_file}")

    def stop(self) -> None:
        if self.running():
            terminate(self.process.pid, timeout=10.0)
        self.process.poll()
