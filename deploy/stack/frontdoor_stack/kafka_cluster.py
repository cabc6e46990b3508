"""Several KRaft brokers on this machine as one replicated cluster: every
node both broker and controller (a quorum of three survives one node lost),
each with its own ports, data directory and JMX exporter, one cluster id.

    with KafkaCluster(Path(".run/kafka"), [(9092, 9093), (9094, 9095), (9096, 9097)]) as cluster:
        print(cluster.bootstrap)   # 127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096

The nodes live in `<workdir>/node-<id>/` (`broker.log`, `data/`); the cluster id in `<workdir>/cluster.id`.
The internal topics (consumer offsets, transactions, share groups) are replicated on every node with a
minimum in-sync of `topics.min_insync_for` (2 of 3), as `ensure_topics(..., replication_factor=len(nodes))`
makes every declared topic. `secured=True`: the single broker's security on every node (SASL SCRAM-SHA-512 over
TLS between clients and nodes and between the nodes, the controllers' listener on TLS with the nodes' own
certificate, the declarations' ACLs): one set of principals and one CA in `<workdir>`, the users and ACLs
applied once the quorum answers.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from frontdoor_platform.kafka_security import KafkaSecurity
from frontdoor_platform.private_files import private_directory

from .coroutines import run_coroutine_in_thread
from .kafka_access import KafkaAccess
from .kafka_broker import DEFAULT_HEAP, KafkaBroker, KafkaBrokerError, new_cluster_id, probe
from .topics import min_insync_for

CLUSTER_ID_FILE = "cluster.id"


def node_dir(workdir: Path, node_id: int) -> Path:
    return workdir / f"node-{node_id}"


def replication_settings(nodes: int) -> dict[str, str]:
    """What a cluster of `nodes` sets over the single broker's template: every internal topic on every node."""
    replicas, in_sync = str(nodes), str(min_insync_for(nodes))
    return {"default.replication.factor": replicas, "min.insync.replicas": in_sync,
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas, "transaction.state.log.min.isr": in_sync,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": in_sync}


class KafkaCluster:
    def __init__(self, workdir: Path, ports: Sequence[tuple[int, int]], secured: bool = False,
                 heap: str = DEFAULT_HEAP, startup_timeout: float = 120.0) -> None:
        """`ports`: each node's (client port, controller port), node ids 1, 2, 3... in that order."""
        if len(ports) < 1:
            raise KafkaBrokerError("a cluster needs at least one node")
        self.workdir = Path(workdir).resolve()
        self.secured = secured
        self.startup_timeout = startup_timeout
        voters = ",".join(f"{node_id}@127.0.0.1:{controller}" for node_id, (_, controller) in enumerate(ports, 1))
        self.nodes = [KafkaBroker(node_dir(self.workdir, node_id), port=port, controller_port=controller, heap=heap,
                                  startup_timeout=startup_timeout, secured=secured, node_id=node_id, voters=voters,
                                  settings=replication_settings(len(ports)), access_dir=self.workdir)
                      for node_id, (port, controller) in enumerate(ports, 1)]

    # -- what the stack asks of a broker, for the cluster as a whole ------------
    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def access(self) -> KafkaAccess | None:
        return self.nodes[0].access

    @property
    def security(self) -> KafkaSecurity:
        return self.nodes[0].security

    @property
    def log_file(self) -> Path:
        return self.nodes[0].log_file

    @property
    def metrics_addresses(self) -> list[str]:
        return [node.metrics_address for node in self.nodes]

    def is_fetched(self) -> bool:
        return self.nodes[0].is_fetched()

    def fetch(self) -> bool:
        return self.nodes[0].fetch()

    # -- start / stop ----------------------------------------------------------
    def _cluster_id(self) -> str:
        path = self.workdir / CLUSTER_ID_FILE
        if path.is_file():
            return path.read_text().strip()
        cluster_id = new_cluster_id(self.nodes[0]._java())
        path.write_text(f"{cluster_id}\n")
        return cluster_id

    def start(self) -> KafkaCluster:
        """Every node launched, then waited for (each answers once a majority of the quorum runs), all of them
        registered, and (secured) the users and ACLs applied."""
        self.fetch()
        private_directory(self.workdir, tighten=True)
        cluster_id = self._cluster_id()
        try:
            for node in self.nodes:
                node.cluster_id = cluster_id
                node.launch()
            for node in self.nodes:
                node.wait_ready()
            self.wait_registered()
            if self.nodes[0].access is not None:
                self.nodes[0].apply_access(self.bootstrap)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_registered(self) -> None:
        """Until the cluster's metadata lists every node (a topic replicated on all of them can be made)."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            with contextlib.suppress(Exception):
                found = run_coroutine_in_thread(probe(self.bootstrap, security=self.security))
                if len(found.get("brokers") or ()) == len(self.nodes):  # type: ignore[arg-type]
                    return
            if time.monotonic() >= deadline:
                raise KafkaBrokerError(f"not every node of the cluster registered within {self.startup_timeout:.0f}s")
            time.sleep(0.5)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node (a crash: nothing flushed, no controlled shutdown)."""
        node = self.nodes[node_id - 1]
        process, node.process = node.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(30)

    def restart(self, node_id: int) -> None:
        """Start one node again on its data (the users and ACLs live in the cluster's metadata)."""
        node = self.nodes[node_id - 1]
        node.launch()
        node.wait_ready()

    def wait_in_sync(self, timeout: float = 120.0) -> None:
        """Until every partition of every topic has all its replicas in sync (a restarted node caught up)."""
        deadline = time.monotonic() + timeout
        while run_coroutine_in_thread(out_of_sync(self.bootstrap, self.security)):
            if time.monotonic() >= deadline:
                raise KafkaBrokerError(f"partitions still out of sync after {timeout:.0f}s")
            time.sleep(0.5)

    def stop(self, timeout: float = 30.0) -> None:
        """Every node asked to stop at once (one by one, the last would wait for a quorum that has gone)."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in reversed(self.nodes):
            node.stop(timeout)

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


async def out_of_sync(bootstrap: str, security: KafkaSecurity) -> list[tuple[str, int]]:
    """(topic, partition) of every partition whose in-sync replicas are fewer than its replicas."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **security.client_kwargs())
    await admin.start()
    try:
        topics: list[dict[str, Any]] = await admin.describe_topics()
    finally:
        await admin.close()
    return [(topic["topic"], partition["partition"]) for topic in topics for partition in topic["partitions"]
            if topic["error_code"] != 0 or len(partition["isr"]) < len(partition["replicas"])]
