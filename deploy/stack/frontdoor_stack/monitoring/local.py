"""Prometheus and Alertmanager beside the local stack, on loopback, from
Debian's `prometheus` and `prometheus-alertmanager` (`make prometheus`):
the configuration is made from the stack's services and ports into
`.run/monitoring/`, with the checked-in rules. `frontdoor-stack run|up`
starts them when both binaries are installed and says how to install them
when not; the end-to-end test starts them with its own rules and routes."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from frontdoor_stack import processes

from ..kafka_broker import free_port
from ..services import ServiceSpec
from .build import ALERTS_FILE, RECORDING_FILE, monitoring_dir
from .configs import alertmanager_config, prometheus_config
from .rules import to_yaml

PROMETHEUS, ALERTMANAGER = "prometheus", "alertmanager"  # the stack's names for them (pid files, logs)
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9095  # not Alertmanager's 9093: the local Kafka controller has it
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, upstream's
INSTALL_HINT = ("Prometheus and Alertmanager are not installed: `make prometheus` (or `apt-get install "
                "prometheus prometheus-alertmanager`), then `make run` starts them against the stack")
# What tells our processes apart in /proc/<pid>/cmdline (for `frontdoor-stack down`).
PROMETHEUS_MARK = "--storage.tsdb.path="
ALERTMANAGER_MARK = "--cluster.listen-address="


def binaries() -> tuple[str, str] | None:
    """(prometheus, alertmanager) from PATH, or None unless both are there."""
    prometheus = shutil.which("prometheus")
    alertmanager = next((found for name in ALERTMANAGER_BINARIES if (found := shutil.which(name))), None)
    return (prometheus, alertmanager) if prometheus and alertmanager else None


def port_or_free(preferred: int) -> int:
    """`preferred` if nothing listens on it on loopback, else a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def checked_in_rules() -> tuple[Path, ...]:
    return (monitoring_dir() / RECORDING_FILE, monitoring_dir() / ALERTS_FILE)


@dataclass
class LocalMonitoring:
    root: Path  # configurations, data and logs go here
    targets: Mapping[str, str]  # service name -> host:port of its /metrics
    prometheus_port: int = PROMETHEUS_PORT
    alertmanager_port: int = ALERTMANAGER_PORT
    rule_files: Sequence[Path] = field(default_factory=checked_in_rules)
    interval: str = "5s"
    ui: str = ""  # where Prometheus' pages are: "/classic" in Debian's build (no React UI), "" upstream
    alertmanager: dict[str, Any] = field(default_factory=alertmanager_config)
    kafka: str | None = None  # host:port of the broker's /metrics (its JMX exporter agent), job "kafka"
    prometheus_process: subprocess.Popen[bytes] | None = None
    alertmanager_process: subprocess.Popen[bytes] | None = None

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    def log_file(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def write_configs(self) -> tuple[Path, Path]:
        """prometheus.yml and alertmanager.yml in `root`."""
        self.root.mkdir(parents=True, exist_ok=True)
        prometheus = self.root / "prometheus.yml"
        prometheus.write_text(to_yaml(prometheus_config(
            self.targets, f"127.0.0.1:{self.alertmanager_port}", [str(p) for p in self.rule_files], self.interval,
            self.kafka)))
        alertmanager = self.root / "alertmanager.yml"
        alertmanager.write_text(to_yaml(self.alertmanager))
        return prometheus, alertmanager

    def start(self, timeout: float = 60.0) -> None:
        """Alertmanager, then Prometheus, each answering /-/ready; both stopped if either fails."""
        found = binaries()
        if found is None:
            raise processes.ProcessError(INSTALL_HINT)
        prometheus_config_file, alertmanager_config_file = self.write_configs()
        env = {"PATH": "/usr/bin:/bin"}
        try:
            self.alertmanager_process = processes.start_and_wait(
                [found[1], f"--config.file={alertmanager_config_file}", f"--storage.path={self.root / 'alertmanager'}",
                 f"--web.listen-address=127.0.0.1:{self.alertmanager_port}", ALERTMANAGER_MARK],
                env, self.log_file(ALERTMANAGER), f"{self.alertmanager_url}/-/ready", timeout, "alertmanager")
            self.prometheus_process = processes.start_and_wait(
                [found[0], f"--config.file={prometheus_config_file}", f"{PROMETHEUS_MARK}{self.root / 'prometheus'}",
                 f"--web.listen-address=127.0.0.1:{self.prometheus_port}", "--storage.tsdb.retention.time=2d"],
                env, self.log_file(PROMETHEUS), f"{self.prometheus_url}/-/ready", timeout, PROMETHEUS)
            self.ui = "/classic" if httpx.get(f"{self.prometheus_url}/alerts", timeout=5).status_code == 404 else ""
        except BaseException:
            self.stop()
            raise

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in ((PROMETHEUS, self.prometheus_process),
                                                        (ALERTMANAGER, self.alertmanager_process)) if process}

    def stop(self) -> None:
        for process in (self.prometheus_process, self.alertmanager_process):
            if process is not None:
                processes.stop(process)
        self.prometheus_process = self.alertmanager_process = None



def for_stack(root: Path, services: Sequence[ServiceSpec], prometheus_port: int, alertmanager_port: int,
              say: Callable[[str], None], kafka: str | None = None) -> LocalMonitoring | None:
    """Prometheus and Alertmanager started against `services` and the broker's /metrics (`kafka`: host:port)
    (on their ports if free, else free ones), or None, having said how to install them, when they are not
    installed."""
    if binaries() is None:
        say(INSTALL_HINT)
        return None
    monitor = LocalMonitoring(root, {spec.name: f"127.0.0.1:{spec.port}" for spec in services},
                              port_or_free(prometheus_port), port_or_free(alertmanager_port), kafka=kafka)
    monitor.start()
    say(f"Prometheus is up on {monitor.prometheus_url}, Alertmanager on {monitor.alertmanager_url}")
    return monitor


def summary_lines(monitor: LocalMonitoring | None) -> list[str]:
    """The stack summary's lines: where the UIs are, or how to install them."""
    if monitor is None:
        return [f"  Monitoring       {INSTALL_HINT}"]
    pages = f"{monitor.prometheus_url}{monitor.ui}"
    return [
        f"  Prometheus       {pages}/alerts  (every rule: {pages}/rules, targets: {pages}/targets; config in "
        f"{monitor.root}/prometheus.yml)",
        f"  Alertmanager     {monitor.alertmanager_url}  (`amtool --alertmanager.url={monitor.alertmanager_url} alert` "
        "lists what it holds; page and ticket routes to placeholder webhooks: deploy/monitoring/README.md)",
        "  Dashboards       deploy/monitoring/grafana/ (Grafana provisioned with them: docker compose up grafana)",
    ]
