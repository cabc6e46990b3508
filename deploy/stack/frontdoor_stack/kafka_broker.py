"""A real Apache Kafka broker (KRaft, one combined broker+controller node)
run from the jars Maven Central publishes. No Docker needed: Java 17 and mvn.

    with KafkaBroker(Path(".run/kafka")) as broker:
        print(broker.bootstrap)   # 127.0.0.1:9092

Broker logs go to `<workdir>/broker.log`; nothing reaches the terminal.

The broker runs with the Prometheus JMX exporter agent (deploy/kafka/jmx-exporter-pom.xml, fetched and cached like
the broker's jars) serving what deploy/kafka/jmx-exporter.yaml exports on `broker.metrics_url` (loopback, a free
port unless one is given): Prometheus scrapes it as job "kafka".

`secured=True` starts it with SASL SCRAM-SHA-512 over TLS, the StandardAuthorizer and the ACLs generated from
the topic declarations (`kafka_access.py`); `broker.access` then says how each principal connects.

One node of a cluster (`kafka_cluster.py`) is this same broker given its `node_id`, the quorum's `voters`, the
cluster's id, the settings it adds and the directory its principals and TLS files are shared from; the cluster
launches its nodes together (no node answers before a majority of the quorum runs) and applies the users and
ACLs once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from string import Template
from types import TracebackType

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity
from frontdoor_platform.private_files import private_directory

from . import kafka_access
from .coroutines import run_coroutine_in_thread
from .kafka_access import KafkaAccess
from .maven_fetch import FetchError, fetch_pom, is_fetched
from .paths import default_kafka_cache, kafka_deploy_dir
from .ports import free_port, port_in_use

# Importable from here as before (the stack, the bench and the tests take them from this module).
__all__ = ["AGENT_CONFIG", "KafkaBroker", "KafkaBrokerError", "free_port", "port_in_use", "probe",
           "run_coroutine_in_thread"]

AGENT_POM, AGENT_CONFIG = "jmx-exporter-pom.xml", "jmx-exporter.yaml"  # in deploy/kafka/
AGENT_JARS = "jmx_prometheus_javaagent-*.jar"
DEFAULT_HEAP = "512m"


class KafkaBrokerError(RuntimeError):
    pass


class KafkaBroker:
    def __init__(
        self,
        workdir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        cache_dir: Path | None = None,
        heap: str = DEFAULT_HEAP,
        startup_timeout: float = 90.0,
        secured: bool = False,
        metrics_port: int | None = None,
        node_id: int = 1,
        voters: str | None = None,
        cluster_id: str | None = None,
        settings: Mapping[str, str] | None = None,
        access_dir: Path | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.cache_dir = Path(cache_dir or default_kafka_cache()).resolve()
        self.heap = heap
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._deploy = kafka_deploy_dir()
        self.secured = secured
        self.access: KafkaAccess | None = None  # set by start() when secured
        self.metrics_port = metrics_port or free_port()  # the JMX exporter agent's /metrics
        self.node_id = node_id
        self.voters = voters or f"{node_id}@127.0.0.1:{controller_port}"  # controller.quorum.voters
        self.cluster_id = cluster_id  # None: a new one at the first format
        self.settings = dict(settings or {})  # a cluster's replication settings, over the template's
        self.access_dir = Path(access_dir).resolve() if access_dir is not None else self.workdir

    # -- paths ---------------------------------------------------------------
    @property
    def libs_dir(self) -> Path:
        return self.cache_dir / "libs"

    @property
    def agent_dir(self) -> Path:
        return self.cache_dir / "jmx-exporter"

    @property
    def metrics_address(self) -> str:
        """host:port of the broker's /metrics (the scrape target)."""
        return f"127.0.0.1:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_address}/metrics"

    @property
    def log_file(self) -> Path:
        return self.workdir / "broker.log"

    @property
    def properties_file(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def security(self) -> KafkaSecurity:
        """The stack's own connection: its admin principal on a secured broker."""
        return self.access.admin if self.access is not None else PLAINTEXT

    # -- fetch ---------------------------------------------------------------
    def is_fetched(self) -> bool:
        return (is_fetched(self._deploy / "pom.xml", self.libs_dir)
                and is_fetched(self._deploy / AGENT_POM, self.agent_dir))

    def fetch(self) -> bool:
        """Download the pinned broker jars into `cache_dir/libs` and the JMX exporter agent into
        `cache_dir/jmx-exporter`, each once. Returns True when it downloaded, False when the cache was current."""
        try:
            broker = fetch_pom(self._deploy / "pom.xml", self.libs_dir, "kafka_2.13-*.jar", "-DincludeScope=runtime")
            agent = fetch_pom(self._deploy / AGENT_POM, self.agent_dir, AGENT_JARS, "-DexcludeTransitive=true")
        except FetchError as error:
            raise KafkaBrokerError(str(error)) from None
        return broker or agent

    def agent_option(self) -> str:
        """The JVM option that runs the JMX exporter on the metrics port, loopback only."""
        jars = sorted(self.agent_dir.glob(AGENT_JARS))
        if len(jars) != 1:
            raise KafkaBrokerError(f"expected one JMX exporter agent in {self.agent_dir}, found {len(jars)}")
        return f"-javaagent:{jars[0]}={self.metrics_address}:{self._deploy / AGENT_CONFIG}"

    # -- start / stop --------------------------------------------------------
    def _java(self) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise KafkaBrokerError("java is not on PATH (Java 17 runs the broker)")
        return [java, f"-Xmx{self.heap}", f"-Xms{min_heap(self.heap)}", "-XX:+UseSerialGC",
                "-Djava.awt.headless=true", "-cp", str(self.libs_dir / "*")]

    def write_properties(self) -> None:
        """The template filled in; on a secured broker, its listeners replaced and the security settings added
        (0600: they hold the broker's own password)."""
        template = Template((self._deploy / "server.properties.template").read_text())
        text = template.substitute(port=self.port, controller_port=self.controller_port, log_dirs=self.data_dir,
                                   max_record_bytes=MAX_RECORD_BYTES)
        node = {"node.id": str(self.node_id), "controller.quorum.voters": self.voters, **self.settings}
        if self.access is not None:
            node.update(kafka_access.broker_settings(self.access, self.port, self.controller_port))
        text = kafka_access.merged(text, node)
        self.properties_file.touch(mode=0o600)
        self.properties_file.chmod(0o600)
        self.properties_file.write_text(text)

    def _format_storage(self) -> None:
        marker = self.data_dir / kafka_access.SECURITY_MARKER
        if (self.data_dir / "meta.properties").is_file():
            formatted = marker.read_text().strip() if marker.is_file() else "plaintext"
            if self.secured and formatted != "sasl_ssl":
                raise KafkaBrokerError(f"the broker's data in {self.data_dir} was made for a plaintext broker (it "
                                       "has no SCRAM users): remove it (`make clean`) to start a secured one")
            return  # already formatted: keep the data across restarts
        cluster_id = self.cluster_id or new_cluster_id(self._java())
        arguments = ["format", "-t", cluster_id, "-c", str(self.properties_file)]
        arguments += kafka_access.format_arguments(self.access) if self.access is not None else []
        argument_file = self.workdir / "format.args"  # passwords stay off the command line; StorageTool's @-file:
        argument_file.touch(mode=0o600)
        argument_file.chmod(0o600)
        argument_file.write_text("".join(f"{argument}\n" for argument in arguments))  # an argument a line
        try:
            result = subprocess.run([*self._java(), *self._log_options(), "kafka.tools.StorageTool",
                                     f"@{argument_file}"], capture_output=True, text=True)
        finally:
            argument_file.unlink(missing_ok=True)
        if result.returncode != 0:  # its output lists the SCRAM users' salted keys: not repeated here
            raise KafkaBrokerError(f"formatting Kafka storage failed:\n{result.stderr[-2000:]}")
        marker.write_text("sasl_ssl\n" if self.secured else "plaintext\n")

    def _log_options(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={self._deploy / 'log4j2.xml'}",
                f"-Dfrontdoor.kafka.log={self.log_file}"]

    def start(self) -> KafkaBroker:
        """Launch, wait until it answers and (secured) apply the users and ACLs."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.launch()
        try:
            self.wait_ready()
            if self.access is not None:
                self.apply_access(self.bootstrap)
        except BaseException:
            self.stop()
            raise
        return self

    def apply_access(self, bootstrap: str) -> None:
        """Every user upserted and the declarations' ACLs made exact, through `bootstrap`."""
        assert self.access is not None
        kafka_access.apply_access(self.access, bootstrap, [
            *self._java(), f"-Dlog4j2.configurationFile={self._deploy / 'log4j2.xml'}",
            f"-Dfrontdoor.kafka.log={self.workdir / 'access.log'}"])

    def launch(self) -> None:
        """The node's process started on its formatted storage (formatted first when new); not yet answering."""
        self.fetch()
        for port in (self.port, self.controller_port, self.metrics_port):
            if port_in_use(port):
                raise KafkaBrokerError(
                    f"port {port} is already in use: another broker (`frontdoor-stack up`?) is running. "
                    "Stop it with `frontdoor-stack down` or pick other ports."
                )
        private_directory(self.workdir, tighten=True)  # 0700: the topics' records are children's data
        private_directory(self.data_dir, tighten=True)
        if self.secured:
            self.access = kafka_access.prepare(self.access_dir)
        self.write_properties()
        self._format_storage()
        with open(self.workdir / "broker.stdout", "ab") as out:
            self.process = subprocess.Popen(
                [*self._java(), self.agent_option(), *self._log_options(), "kafka.Kafka", str(self.properties_file)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.workdir, start_new_session=True,  # Ctrl-C reaches us, and we stop it cleanly
            )
        (self.workdir / "broker.pid").write_text(f"{self.process.pid}\n")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise KafkaBrokerError(
                    f"the Kafka broker exited with code {self.process.returncode} while starting; "
                    f"see {self.log_file} and {self.workdir / 'broker.stdout'}"
                )
            if not port_in_use(self.port):
                time.sleep(0.3)  # not listening yet: do not let the client log connection errors
                continue
            try:
                run_coroutine_in_thread(probe(self.bootstrap, security=self.security))
                return
            except Exception as exc:
                last_error = exc
                time.sleep(0.5)
        raise KafkaBrokerError(
            f"the Kafka broker did not answer on {self.bootstrap} within {self.startup_timeout:.0f}s "
            f"(last error: {last_error!r}); see {self.log_file}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        (self.workdir / "broker.pid").unlink(missing_ok=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def new_cluster_id(java: list[str]) -> str:
    """A fresh cluster id from Kafka's StorageTool (`java`: java with the broker's class path)."""
    return subprocess.run([*java, "kafka.tools.StorageTool", "random-uuid"], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]


def min_heap(heap: str) -> str:
    return "128m" if heap.endswith(("m", "g")) else heap


async def probe(bootstrap: str, timeout_ms: int = 3000, security: KafkaSecurity = PLAINTEXT) -> dict[str, object]:
    """Ask the broker for its cluster metadata with a real Kafka client."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                                **security.client_kwargs())
    await admin.start()
    try:
        cluster: dict[str, object] = await admin.describe_cluster()
        if not cluster.get("brokers"):
            raise KafkaBrokerError("the broker reports no brokers yet")
        return cluster
    finally:
        await admin.close()
