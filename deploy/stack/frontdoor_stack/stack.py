"""The whole local stack in order: broker, topics, the demo school system
(a webhook receiver with an SMTP sink), the four services, dev credentials,
the notifications directory for the demo, and (for `run` and `up`, when
they are installed) Prometheus and Alertmanager watching it; and its
teardown. `secured` (FRONTDOOR_KAFKA_SECURITY=sasl_ssl) starts the broker
with SASL SCRAM-SHA-512 over TLS and the declarations' ACLs, each service
connecting as its own principal. `brokers=3` (`frontdoor-stack up --brokers 3`) starts a replicated
cluster of three KRaft nodes instead (`kafka_cluster.py`: the same security on each, every declared topic
replicated three times with min.insync.replicas=2). `frontdoor-stack run` holds it in the foreground; `up`
leaves it running with pid files in .run/pids/ for `down`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from frontdoor_platform.clock import SimulatedClock
from frontdoor_stack.processes import ProcessError

from . import staff_logins
from .case_worker import CaseWorkerSettings
from .credentials import CREDENTIALS_FILE, Credentials, coordinator_key, key_with_role, read_credentials
from .kafka_access import KafkaAccess
from .kafka_broker import KafkaBroker, run_coroutine_in_thread
from .kafka_cluster import KafkaCluster
from .monitoring import local as local_monitoring
from .paths import run_dir
from .pid_files import (
    ALERTMANAGER,
    KAFKA,
    PROMETHEUS,
    RECEIVER,
    kafka_name,
    kafka_names,
    pids_dir,
    running_pid,
    stop_recorded,
    write_pid,
)
from .school_receiver import ReceiverProcess
from .seed import Seeded, SeedError, seed_directory
from .services import SERVICES, ServiceProcess, ServiceSpec
from .topics import ensure_topics

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
RECEIVER_PORT = 8090  # the demo school system's webhooks
SMTP_PORT = 8025  # its SMTP sink, where email alerts go
DEV_CLIENT_NAME = "local-dev"
# The services that issue API keys, and the roles of the local key each gets.
DEV_CLIENT_ROLES = {"contacts": "intake,decide,read,admin,privacy", "allocation": "coordinator,read",
                    "notifications": "admin", "outcomes": "manager"}
# What a local key says its holder is: contacts' is the MASH's front-door system's, claiming every referrer source.
DEV_CLIENT_CLAIMS = {"contacts": ("--sources", "all")}

Say = Callable[[str], None]
# Importable from here as before (the CLI, the year's command and the tests take them from this module).
__all__ = ["ALERTMANAGER", "PROMETHEUS", "RECEIVER", "Credentials", "LocalStack", "StackError", "coordinator_key",
           "key_with_role", "read_credentials", "running_pid", "stop_recorded", "write_pid"]


class StackError(RuntimeError):
    pass


@dataclass
class LocalStack:
    root: Path = field(default_factory=run_dir)
    kafka_port: int = KAFKA_PORT
    controller_port: int = KAFKA_CONTROLLER_PORT
    # 1: the single embedded broker; more: a replicated cluster, node i on kafka_port + 2(i-1) and
    # controller_port + 2(i-1) unless `node_ports` gives each node's (client, controller) ports.
    brokers: int = 1
    node_ports: tuple[tuple[int, int], ...] = ()
    services: tuple[ServiceSpec, ...] = SERVICES
    receiver_port: int = RECEIVER_PORT
    smtp_port: int = SMTP_PORT
    # More settings for the services (prefixed, so each reaches its own: tests give consumer groups here).
    extra_env: dict[str, str] = field(default_factory=dict)
    # The broker with SASL SCRAM-SHA-512 over TLS and the ACLs, each service its own principal (kafka_access.py).
    secured: bool = False
    # Prometheus and Alertmanager too, when installed (`run` and `up`), on these ports if free, else free ones.
    monitoring: bool = False
    prometheus_port: int = local_monitoring.PROMETHEUS_PORT
    alertmanager_port: int = local_monitoring.ALERTMANAGER_PORT
    monitor: local_monitoring.LocalMonitoring | None = None
    # One simulated clock for every service (`frontdoor-stack year`); None: real time.
    clock: SimulatedClock | None = None
    broker: KafkaBroker | KafkaCluster | None = None
    receiver: ReceiverProcess | None = None
    processes: list[ServiceProcess] = field(default_factory=list)
    credentials: list[Credentials] = field(default_factory=list)
    seeded: Seeded | None = None
    school_key: Credentials | None = None  # a school-scoped inbox key for the demo school
    staff: list[staff_logins.StaffLogin] = field(default_factory=list)  # the demo's sign-ins to the staff pages

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port, _ in self.kafka_ports())

    def kafka_ports(self) -> list[tuple[int, int]]:
        """Each broker's (client, controller) ports."""
        if self.node_ports:
            return list(self.node_ports)
        return [(self.kafka_port + 2 * i, self.controller_port + 2 * i) for i in range(self.brokers)]

    def new_broker(self) -> KafkaBroker | KafkaCluster:
        if self.brokers == 1 and not self.node_ports:
            return KafkaBroker(self.root / KAFKA, port=self.kafka_port, controller_port=self.controller_port,
                               secured=self.secured)
        return KafkaCluster(self.root / KAFKA, self.kafka_ports(), secured=self.secured)

    def kafka_pids(self) -> dict[str, int]:
        """The broker's pid, or each node's, by pid file name."""
        nodes = self.broker.nodes if isinstance(self.broker, KafkaCluster) else [self.broker]
        return {kafka_name(node.node_id if isinstance(self.broker, KafkaCluster) else None): node.process.pid
                for node in nodes if node is not None and node.process is not None}

    @property
    def access(self) -> KafkaAccess | None:
        """How each principal connects to the secured broker (None: plaintext)."""
        return self.broker.access if self.broker is not None else None

    @property
    def clustered(self) -> bool:
        return isinstance(self.broker, KafkaCluster) or self.brokers > 1 or bool(self.node_ports)

    def kafka_env(self, spec: ServiceSpec) -> dict[str, str]:
        """A service's own Kafka principal, on a secured broker; on a cluster, outcomes' own topics replicated
        as the declared ones are."""
        env = self.access.service_env(spec.name, spec.prefix) if self.access is not None else {}
        if spec.name == "outcomes" and self.clustered:
            env = {**env, "OUTCOMES_STREAM_REPLICATION_FACTOR": str(len(self.kafka_ports()))}
        return env

    def start(self, say: Say = print) -> None:
        already = [name for name in [*kafka_names(self.root), RECEIVER, *(s.name for s in self.services),
                                     PROMETHEUS, ALERTMANAGER] if running_pid(self.root, name)]
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
        self.broker = self.new_broker()
        if not self.broker.is_fetched():
            say("fetching the Kafka broker jars from Maven Central (once)...")
            self.broker.fetch()
        nodes = f" ({len(self.kafka_ports())} nodes, every topic replicated on each)" if self.clustered else ""
        say(f"starting Kafka on {self.bootstrap}{nodes}{' (SASL_SSL, ACLs)' if self.secured else ''} "
            f"(log: {self.broker.log_file})...")
        self.broker.start()
        for name, pid in self.kafka_pids().items():
            write_pid(self.root, name, pid)
        replication = len(self.kafka_ports()) if self.clustered else None
        result = run_coroutine_in_thread(ensure_topics(self.bootstrap, replication_factor=replication,
                                                       security=self.broker.security))
        say(f"topics: {len(result.created)} created, {len(result.existing)} already there")
        self.receiver = ReceiverProcess(self.receiver_port, self.secrets_file, self.root / "logs" / f"{RECEIVER}.log",
                                        smtp_port=self.smtp_port)
        self.receiver.start()
        assert self.receiver.process is not None
        write_pid(self.root, RECEIVER, self.receiver.process.pid)
        for spec in self.services:
            process = ServiceProcess(spec, self.bootstrap, self.root,
                                     {**self.service_env(spec), **self.kafka_env(spec), **self.clock_env(),
                                      **self.extra_env})
            process.start()
            assert process.process is not None
            write_pid(self.root, spec.name, process.process.pid)
            self.processes.append(process)
        try:
            self.receiver.wait_healthy()
        except ProcessError as error:
            raise StackError(str(error)) from None
        say(f"the demo school system is up on {self.receiver.url} (SMTP sink on 127.0.0.1:{self.smtp_port})")
        for process in self.processes:
            process.wait_healthy()
            say(f"{process.spec.name} is healthy on {process.spec.base_url}")
        self.credentials = self.create_credentials()
        self.staff = staff_logins.create(self.processes)
        self.write_credentials()
        if any(process.spec.name == "notifications" for process in self.processes):
            self.seed_notifications(say)
        if self.monitoring:
            self.start_monitoring(say)

    def start_monitoring(self, say: Say) -> None:
        """Prometheus scraping the services, with the rules, and Alertmanager; or say how to install them."""
        try:
            self.monitor = local_monitoring.for_stack(
                self.root / "monitoring", self.services, self.prometheus_port, self.alertmanager_port, say,
                kafka=self.kafka_metrics())
        except ProcessError as error:
            raise StackError(str(error)) from None
        for name, pid in self.monitor.pids().items() if self.monitor else ():
            write_pid(self.root, name, pid)

    def kafka_metrics(self) -> str | None:
        """host:port of the broker's /metrics, or of every node's, comma-separated."""
        if isinstance(self.broker, KafkaCluster):
            return ",".join(self.broker.metrics_addresses)
        return self.broker.metrics_address if self.broker is not None else None

    @property
    def secrets_file(self) -> Path:
        """The signing secrets handed to the demo school system (0600)."""
        return self.root / "school-receiver" / "secrets.json"

    def clock_env(self) -> dict[str, str]:
        """FRONTDOOR_CLOCK_START / _SPEED / _SINCE: every service on the stack's simulated clock (none: real time)."""
        return self.clock.environment() if self.clock is not None else {}

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        """What the stack adds to a service's four settings: notifications' email alerts go to the sink, and
        its webhooks may go to the demo school system on this machine (plain http to 127.0.0.1: a development
        setting, refused in production)."""
        if spec.name == "allocation":  # the board shows the demo's moves as they come, meeting or not
            outcomes = next((s for s in self.services if s.name == "outcomes"), None)
            return {"ALLOCATION_BOARD_IDLE_REFRESH_SECONDS": "30",
                    **({"ALLOCATION_CHRONOLOGY_URL": f"{outcomes.base_url}/chronology"} if outcomes else {})}
        if spec.name != "notifications":
            return {}
        return {"NOTIFICATIONS_SMTP_HOST": "127.0.0.1", "NOTIFICATIONS_SMTP_PORT": str(self.smtp_port),
                "NOTIFICATIONS_PAGE_URL": f"{spec.base_url}/page/", "NOTIFICATIONS_LOCAL_WEBHOOKS": "true"}

    def seed_notifications(self, say: Say) -> None:
        """The directory for the demo, through the admin API (see `seed`), and a school-scoped inbox key."""
        notifications = next(p for p in self.processes if p.spec.name == "notifications")
        admin = next(c for c in self.credentials if c.service == "notifications")
        assert self.receiver is not None
        try:
            self.seeded = seed_directory(f"http://127.0.0.1:{notifications.spec.port}", admin.api_key,
                                         self.receiver.url, self.secrets_file)
        except (SeedError, httpx.HTTPError, OSError) as error:
            raise StackError(f"seeding the notifications directory failed: {error}") from None
        channels = self.seeded.channels()
        say(f"notifications directory: {len(self.seeded.schools)} schools ({channels['webhook']} by webhook, "
            f"{channels['inbox']} inbox only, {channels['email']} by email), {len(self.seeded.agencies)} agencies; "
            f"{self.seeded.rotated} signing secrets handed to the demo school system")
        urn = self.seeded.demo_school().urn
        name = f"{admin.name}-school-{urn}"
        self.school_key = Credentials("notifications", name, "school",
                                      notifications.create_client(name, "school", scope=urn), urn)
        self.write_credentials()

    def write_credentials(self) -> Path:
        """Every dev key and key adult's page password, 0600 from the start."""
        path = self.root / CREDENTIALS_FILE
        lines = [c.line() for c in [*self.credentials, *([self.school_key] if self.school_key else [])]]
        lines += [login.line() for login in self.staff]
        if self.seeded is not None:
            lines += [f"page: staff_id={school.staff_id} school={school.urn} "
                      f"password={self.seeded.passwords[school.staff_id]}\n"
                      for school in self.seeded.schools if school.staff_id in self.seeded.passwords]
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write("".join(lines))
        os.chmod(path, 0o600)
        return path

    def create_credentials(self) -> list[Credentials]:
        # client names are unique and .run/data persists across runs: one fresh client per start
        name = f"{DEV_CLIENT_NAME}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        made = []
        for process in self.processes:
            roles = DEV_CLIENT_ROLES.get(process.spec.name)
            if roles is None:
                continue
            output = process.run_command("create-client", "--name", name, "--roles", roles,
                                         *DEV_CLIENT_CLAIMS.get(process.spec.name, ()))
            lines = [line.strip() for line in output.splitlines() if line.strip()]
            if not lines:
                raise StackError(f"frontdoor-{process.spec.name} create-client printed no API key")
            made.append(Credentials(process.spec.name, name, roles, lines[-1]))
        self.credentials = made
        self.write_credentials()
        return made

    def case_worker(self) -> CaseWorkerSettings | None:
        """The demo's case worker on this stack's allocation service, with its coordinator key."""
        spec = next((s for s in self.services if s.name == "allocation"), None)
        key = coordinator_key(self.credentials)
        if spec is None or key is None:
            return None
        return CaseWorkerSettings(allocation_url=f"http://127.0.0.1:{spec.port}", api_key=key)

    def detach(self) -> None:
        """Leave everything running (for `up`): forget the handles, keep the pid files."""
        self.processes = []
        self.receiver = None
        self.broker = None
        if self.monitor is not None:
            self.monitor.prometheus_process = self.monitor.alertmanager_process = None

    def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
            for name in (PROMETHEUS, ALERTMANAGER):
                (pids_dir(self.root) / f"{name}.pid").unlink(missing_ok=True)
        for process in reversed(self.processes):
            process.stop()
            (pids_dir(self.root) / f"{process.spec.name}.pid").unlink(missing_ok=True)
        self.processes = []
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
            (pids_dir(self.root) / f"{RECEIVER}.pid").unlink(missing_ok=True)
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
            for name in kafka_names(self.root):
                (pids_dir(self.root) / f"{name}.pid").unlink(missing_ok=True)

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
            f"  Kafka bootstrap  {self.bootstrap}   (log: .run/kafka/"
            f"{'node-*/' if self.clustered else ''}broker.log)",
            *([f"  Kafka security   SASL_SSL, SCRAM-SHA-512; CA {self.root / 'kafka' / 'tls' / 'ca.pem'}, each "
               f"principal's password in {self.root / 'kafka' / 'principals.json'} (0600)"] if self.secured else []),
            "  Data             .run/data/*.db (sqlite)",
        ]
        if self.monitoring:
            lines += local_monitoring.summary_lines(self.monitor)
        for credentials in self.credentials:
            lines += [
                "",
                f"  Dev API key for {credentials.service} ({credentials.name}, roles {credentials.roles}), shown once:",
                f"    Authorization: Bearer {credentials.api_key}",
            ]
        staff = staff_logins.summary_lines(self.staff, {spec.name: spec.base_url for spec in self.services})
        return "\n".join(lines + staff + self._schools_summary()) + "\n"

    def _schools_summary(self) -> list[str]:
        if self.seeded is None:
            return []
        notifications = next(s for s in self.services if s.name == "notifications")
        school = self.seeded.demo_school()
        channels = self.seeded.channels()
        lines = [
            "",
            f"  Schools' page      {notifications.base_url}/page/  (dev only; every key adult's password is in "
            f".run/credentials, 0600)",
            f"    sign in as       staff id {school.staff_id}, password {self.seeded.passwords[school.staff_id]}  "
            f"({school.name}, URN {school.urn})",
        ]
        if self.school_key is not None:
            lines += [
                f"  School inbox API   GET {notifications.base_url}/v1/inbox  (school {school.urn}'s key):",
                f"    Authorization: Bearer {self.school_key.api_key}",
            ]
        receiver = f"http://127.0.0.1:{self.receiver_port}"
        lines += [
            f"  Demo school system {receiver}/received  ({channels['webhook']} schools and "
            f"{sum(a.channel == 'webhook' for a in self.seeded.agencies)} agencies by signed webhook, "
            f"{channels['inbox']} schools inbox only, {channels['email']} schools and the Early Help manager by "
            f"email to the SMTP sink on 127.0.0.1:{self.smtp_port}; log .run/logs/{RECEIVER}.log)",
        ]
        return lines
