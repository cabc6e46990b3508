"""The four services as local processes: their ports, the environment each
is started with, and start/health/stop. docker-compose.yml mirrors this
(tests/test_compose_matches_stack.py keeps them equal)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from frontdoor_stack import processes
from frontdoor_stack.processes import alive as alive  # re-exported for the stack and the bench
from frontdoor_stack.processes import terminate as terminate


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

# The services' timers, wall seconds between rounds: the SLA sweep (due soon, overdue), the DA notifications'
# deadlines and retention, the delivery queue's poll, the outcomes review (identification due times, sustained
# progress). On a simulated clock running fast a round is many business hours: `timer_env` shortens them.
TIMER_SETTINGS = ("ALLOCATION_SLA_CHECK_SECONDS", "NOTIFICATIONS_TIMERS_INTERVAL_SECONDS",
                  "NOTIFICATIONS_DELIVERY_POLL_SECONDS", "OUTCOMES_REVIEW_SECONDS")


def timer_env(seconds: float) -> dict[str, str]:
    """Every service timer every `seconds` of wall time (their settings, by environment variable)."""
    if not seconds > 0:
        raise ValueError("a timer interval must be above 0 seconds")
    return {name: repr(float(seconds)) for name in TIMER_SETTINGS}

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
    def __init__(self, spec: ServiceSpec, kafka_bootstrap: str, run_dir: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.kafka_bootstrap = kafka_bootstrap
        self.data_dir = run_dir / "data"
        self.log_file = run_dir / "logs" / f"{spec.name}.log"
        self.extra_env = extra_env or {}  # settings beyond the four every service gets (compose has those)
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.spec.environment(self.kafka_bootstrap, self.data_dir), **self.extra_env}

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A session of its own: Ctrl-C reaches the stack runner, which stops us in order.
        self.process = processes.start([executable(self.spec.command), "serve"], self.env(), self.log_file)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        if self.process is None:
            raise ServiceError(f"{self.spec.name} was not started")
        try:
            processes.wait_until_answers(self.process, f"http://127.0.0.1:{self.spec.port}/healthz", self.log_file,
                                         timeout, self.spec.name)
        except processes.ProcessError as error:
            raise ServiceError(str(error)) from None

    def run_command(self, *args: str) -> str:
        """Run `frontdoor-<service> <args>` with this service's environment; its stdout."""
        result = subprocess.run(
            [executable(self.spec.command), *args], env=self.env(), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ServiceError(f"{self.spec.command} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def create_client(self, name: str, roles: str, scope: str | None = None) -> str:
        """`create-client`: the new API key (printed once, last line)."""
        args = ["create-client", "--name", name, "--roles", roles, *(["--scope", scope] if scope else [])]
        output = self.run_command(*args)
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        if not lines:
            raise ServiceError(f"{self.spec.command} create-client printed no API key")
        return lines[-1]

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process.pid, timeout)
            process.poll()
