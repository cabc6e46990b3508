"""Names every generated manifest shares: the namespace, the operators' clusters, labels, mount paths."""

from __future__ import annotations

from typing import Any

NAMESPACE = "frontdoor"
PART_OF = "frontdoor"
KAFKA_CLUSTER = "frontdoor-kafka"  # Strimzi: <name>-kafka-bootstrap, <name>-cluster-ca-cert
KAFKA_PORT = 9093  # the TLS listener with SCRAM-SHA-512
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap:{KAFKA_PORT}"
KAFKA_CA_SECRET = f"{KAFKA_CLUSTER}-cluster-ca-cert"
DB_CLUSTER = "frontdoor-db"  # CloudNativePG: <name>-rw (the primary), <name>-ca (its CA)
DB_PORT = 5432
DB_CA_SECRET = f"{DB_CLUSTER}-ca"
KAFKA_CA_DIR = "/etc/frontdoor/kafka-ca"
DB_CA_DIR = "/etc/frontdoor/db-ca"
METRICS_DIR = "/run/frontdoor/metrics"  # Prometheus's multiprocess files, shared by a worker pod's containers
RUN_AS = 10001  # the images' user (deploy/docker/service.Dockerfile)


def metadata(name: str, component: str, service: str | None = None, **labels: str) -> dict[str, Any]:
    """A namespaced object's metadata with the recommended labels."""
    found = {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": component}
    if service is not None:
        found["app.kubernetes.io/name"] = service
    return {"name": name, "namespace": NAMESPACE, "labels": {**found, **labels}}
