"""The whole local stack as `frontdoor-stack up --brokers 3` starts it (the
stack's own start code: three KRaft brokers, each both broker and
controller, every declared topic replicated three times with
min.insync.replicas=2, the demo school system, the four services, the dev
keys and the seeded notifications directory), secured as
FRONTDOOR_KAFKA_SECURITY=sasl_ssl makes it (SASL SCRAM-SHA-512 over TLS, the
declarations' ACLs, each service its own principal), on free ports in a
temporary run directory, once for a test module (three JVMs and four services:
not left running for the rest of a session)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from frontdoor_stack.kafka_cluster import KafkaCluster
from frontdoor_stack.ports import free_port
from frontdoor_stack.services import SERVICES, ServiceSpec
from frontdoor_stack.stack import LocalStack

BROKERS = 3


def wait_ready(url: str, timeout: float = 90.0) -> None:
    """Until /readyz is 200: the consumer joined its group and the relay publishes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {timeout:.0f}s")


@pytest.fixture(scope="module")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root: Path = tmp_path_factory.mktemp("cluster-stack")
    running = LocalStack(root=root, brokers=BROKERS,
                         node_ports=tuple((free_port(), free_port()) for _ in range(BROKERS)),
                         services=tuple(ServiceSpec(spec.name, free_port()) for spec in SERVICES),
                         receiver_port=free_port(), smtp_port=free_port(), secured=True,
                         extra_env={"NOTIFICATIONS_LOCAL_WEBHOOKS": "true"})  # the demo school system: 127.0.0.1
    running.start(say=lambda _: None)
    try:
        for process in running.processes:
            wait_ready(f"http://127.0.0.1:{process.spec.port}")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def cluster(cluster_stack: LocalStack) -> KafkaCluster:
    assert isinstance(cluster_stack.broker, KafkaCluster)
    return cluster_stack.broker


@pytest.fixture(scope="module")
def http_checks(cluster_stack: LocalStack) -> list[tuple[str, dict[str, str], int]]:
    """Every service's /healthz, and a read of its database through its API with the stack's keys: allocation's
    board, outcomes' KPIs, the demo school's inbox, a contact nobody sent (404)."""
    def key(service: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {next(c.api_key for c in cluster_stack.credentials if c.service == service)}"}

    url = {spec.name: f"http://127.0.0.1:{spec.port}" for spec in cluster_stack.services}
    assert cluster_stack.school_key is not None
    return [*((f"{base}/healthz", {}, 200) for base in url.values()),
            (f"{url['allocation']}/v1/cases", key("allocation"), 200),
            (f"{url['outcomes']}/v1/kpis", key("outcomes"), 200),
            (f"{url['notifications']}/v1/inbox", {"Authorization": f"Bearer {cluster_stack.school_key.api_key}"}, 200),
            (f"{url['contacts']}/v1/contacts/{uuid.uuid4()}", key("contacts"), 404)]
