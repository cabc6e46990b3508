"""The whole local stack in order: broker, topics, the four services, dev
credentials; and its teardown. `frontdoor-stack run` holds it in the
foreground; `up` leaves it running with pid files in .run/pids/ for `down`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .kafka_broker import KafkaBroker, run_coroutine_in_thread
from .paths import run_dir
from .services import SERVICES, ServiceProcess, ServiceSpec, alive, terminate
from .topics import ensure_topics

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
DEV_CLIENT_NAME = "local-dev"
# The services that issue API keys, and the roles of the local key each gets.
DEV_CLIENT_ROLES = {"contacts": "intake,decide,read", "allocation": "coordinator,read"}
CREDENTIALS_FILE = "credentials"

Say = Callable[[str], None]


class StackError(RuntimeError):
    pass


def pids_dir(root: Path) -> Path:
    return root / "pids"


def _expected_cmdline(name: str) -> str:
    return "kafka.Kafka" if name == "kafka" else f"frontdoor-{name}"


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


def stop_recorded(root: Path) -> list[str]:
    """Stop every process the pid files name (services first, then Kafka).
    Idempotent: stale or foreign pids are ignored; pid files are removed."""
    stopped = []
    for name in [spec.name for spec in reversed(SERVICES)] + ["kafka"]:
        pid = running_pid(root, name)
        if pid is not None:
            terminate(pid, timeout=30.0 if name == "kafka" else 15.0)
            stopped.append(name)
        (pids_dir(root) / f"{name}.pid").unlink(missing_ok=True)
    return stopped


@dataclass
class Credentials:
    service: str
    name: str
    roles: str
    api_key: str


@dataclass
class LocalStack:
    root: Path = field(default_factory=run_dir)
    kafka_port: int = KAFKA_PORT
    controller_port: int = KAFKA_CONTROLLER_PORT
    services: tuple[ServiceSpec, ...] = SERVICES
    broker: KafkaBroker | None = None
    processes: list[ServiceProcess] = field(default_factory=list)
    credentials: list[Credentials] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def start(self, say: Say = print) -> None:
        already = [name for name in ["kafka", *(s.name for s in self.services)] if running_pid(self.root, name)]
        if already:
            raise StackError(
                f"the stack is already running ({', '.join(already)}): `frontdoor-stack down` stops it"
            )
        try:
            self._start(say)
        except BaseException:
            self.stop()
            raise

    def _start(self, say: Say) -> None:
        self.broker = KafkaBroker(self.root / "kafka", port=self.kafka_port, controller_port=self.controller_port)
        if not self.broker.is_fetched():
            say("fetching the Kafka broker jars from Maven Central (once)...")
            self.broker.fetch()
        say(f"starting Kafka on {self.bootstrap} (log: {self.broker.log_file})...")
        self.broker.start()
        assert self.broker.process is not None
        write_pid(self.root, "kafka", self.broker.process.pid)
        result = run_coroutine_in_thread(ensure_topics(self.bootstrap))
        say(f"topics: {len(result.created)} created, {len(result.existing)} already there")
        for spec in self.services:
            process = ServiceProcess(spec, self.bootstrap, self.root)
            process.start()
            assert process.process is not None
            write_pid(self.root, spec.name, process.process.pid)
            self.processes.append(process)
        for process in self.processes:
            process.wait_healthy()
            say(f"{process.spec.name} is healthy on {process.spec.base_url}")
        self.credentials = self.create_credentials()

    def create_credentials(self) -> list[Credentials]:
        # client names are unique and .run/data persists across runs: one fresh client per start
        name = f"{DEV_CLIENT_NAME}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        made = []
        for process in self.processes:
            roles = DEV_CLIENT_ROLES.get(process.spec.name)
            if roles is None:
                continue
            output = process.run_command("create-client", "--name", name, "--roles", roles)
            lines = [line.strip() for line in output.splitlines() if line.strip()]
            if not lines:
                raise StackError(f"frontdoor-{process.spec.name} create-client printed no API key")
            made.append(Credentials(process.spec.name, name, roles, lines[-1]))
        path = self.root / CREDENTIALS_FILE
        path.write_text("".join(f"{c.service}: name={c.name} roles={c.roles} api_key={c.api_key}\n" for c in made))
        os.chmod(path, 0o600)
        return made

    def detach(self) -> None:
        """Leave everything running (for `up`): forget the handles, keep the pid files."""
        self.processes = []
        self.broker = None

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
            (pids_dir(self.root) / f"{process.spec.name}.pid").unlink(missing_ok=True)
        self.processes = []
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
            (pids_dir(self.root) / "kafka.pid").unlink(missing_ok=True)

    def summary(self) -> str:
        lines = ["", "Front Door is running:", ""]
        lines.append(f"  {'service':<14} {'API docs':<32} {'metrics':<36} log")
        for spec in self.services:
            lines.append(
                f"  {spec.name:<14} {spec.base_url + '/docs':<32} {spec.base_url + '/metrics':<36} "
                f".run/logs/{spec.name}.log"
            )
        lines += [
            "",
            f"  Kafka bootstrap  {self.bootstrap}   (log: .run/kafka/broker.log)",
            "  Data             .run/data/*.db (sqlite)",
        ]
        for credentials in self.credentials:
            lines += [
                "",
                f"  Dev API key for {credentials.service} ({credentials.name}, roles {credentials.roles}), shown once:",
                f"    Authorization: Bearer {credentials.api_key}",
            ]
        return "\n".join(lines) + "\n"
