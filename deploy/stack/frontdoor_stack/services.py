"""The four services as local processes: their ports, the environment each
is started with, and start/health/stop. docker-compose.yml mirrors this
(tests/test_compose_matches_stack.py keeps them equal)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int

    @property
    def prefix(self) -> str:
        return self.name.upper()

    @property
    def command(self) -> str:
        return f"frontdoor-{self.name}"

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}_{key}" for key in ENV_KEYS)

    def environment(self, kafka_bootstrap: str, data_dir: Path, host: str = "127.0.0.1") -> dict[str, str]:
        values = {
            "HOST": host,
            "PORT": str(self.port),
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "DATABASE_URL": f"sqlite:///{(data_dir / f'{self.name}.db').resolve()}",
        }
        return {f"{self.prefix}_{key}": values[key] for key in ENV_KEYS}

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.port}"


ENV_KEYS = ("HOST", "PORT", "KAFKA_BOOTSTRAP", "DATABASE_URL")

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("contacts", 8001),
    ServiceSpec("allocation", 8002),
    ServiceSpec("notifications", 8003),
    ServiceSpec("outcomes", 8004),
)


class ServiceError(RuntimeError):
    pass


def executable(name: str) -> str:
    """The console script next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"{name} is not installed: run `make venv`")
    return found


class ServiceProcess:
    def __init__(self, spec: ServiceSpec, kafka_bootstrap: str, run_dir: Path) -> None:
        self.spec = spec
        self.kafka_bootstrap = kafka_bootstrap
        self.data_dir = run_dir / "data"
        self.log_file = run_dir / "logs" / f"{spec.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.spec.environment(self.kafka_bootstrap, self.data_dir)}

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [executable(self.spec.command), "serve"],
                env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the stack runner, which stops us in order
            )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.spec.port}/healthz"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServiceError(
                    f"{self.spec.name} exited with code {self.process.returncode} while starting; see {self.log_file}"
                )
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ServiceError(f"{self.spec.name} did not answer {url} within {timeout:.0f}s; see {self.log_file}")

    def run_command(self, *args: str) -> str:
        """Run `frontdoor-<service> <args>` with this service's environment; its stdout."""
        result = subprocess.run(
            [executable(self.spec.command), *args], env=self.env(), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ServiceError(f"{self.spec.command} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process.pid, timeout)
            process.poll()


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
