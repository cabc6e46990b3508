"""The Strimzi resources, from the declarations: a KRaft `Kafka` cluster of three nodes (one `KafkaNodePool`,
each node broker and controller), a `KafkaTopic` per declared topic (partitions and cleanup as declared,
replication 3, `min.insync.replicas` 2, retention from the retention schedule) and a `KafkaUser` per principal
with the ACLs the secured local stack grants (`frontdoor_stack.acls`: what each producer and consumer may do)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from frontdoor_contracts import retention
from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.topics import TopicSpec, all_topics
from frontdoor_stack.acls import AclBinding, acl_bindings, principals

from .layout import KAFKA_CLUSTER, KAFKA_PORT, metadata

API = "kafka.strimzi.io/v1"
STRIMZI_VERSION = "1.2.0"  # the CRD schemas in deploy/k8s/schemas/
KAFKA_VERSION = "4.3.1"  # Strimzi 1.2.0's Kafka (its build's kafka.version); the local stack runs 4.4.0
REPLICAS = 3
MIN_INSYNC_REPLICAS = 2
NODE_POOL = "dual-role"
CLUSTER_LABEL = {"strimzi.io/cluster": KAFKA_CLUSTER}
RESOURCE_TYPES = {"TOPIC": "topic", "GROUP": "group"}
PATTERN_TYPES = {"LITERAL": "literal", "PREFIXED": "prefix"}
OPERATIONS = {"READ": "Read", "WRITE": "Write", "CREATE": "Create"}


def broker_config() -> dict[str, Any]:
    """The cluster's settings: what the local stack's broker sets (tests/test_compose_matches_stack.py), for
    three replicas: nothing is created by a client's accident, every record is on two replicas before it is
    acknowledged, and a record one producer takes (`MAX_RECORD_BYTES`) every broker takes."""
    return {
        "auto.create.topics.enable": False,
        "default.replication.factor": REPLICAS,
        "min.insync.replicas": MIN_INSYNC_REPLICAS,
        "offsets.topic.replication.factor": REPLICAS,
        "transaction.state.log.replication.factor": REPLICAS,
        "transaction.state.log.min.isr": MIN_INSYNC_REPLICAS,
        "share.coordinator.state.topic.replication.factor": REPLICAS,
        "share.coordinator.state.topic.min.isr": MIN_INSYNC_REPLICAS,
        "message.max.bytes": MAX_RECORD_BYTES,
        "replica.fetch.max.bytes": MAX_RECORD_BYTES,
    }


def cluster() -> list[dict[str, Any]]:
    """The `Kafka` resource and its node pool (KRaft: no ZooKeeper; the Strimzi v1 API has only node pools)."""
    kafka = {
        "apiVersion": API,
        "kind": "Kafka",
        "metadata": metadata(KAFKA_CLUSTER, "kafka"),
        "spec": {
            "kafka": {
                "version": KAFKA_VERSION,
                "listeners": [{"name": "tls", "port": KAFKA_PORT, "type": "internal", "tls": True,
                               "authentication": {"type": "scram-sha-512"}}],
                "authorization": {"type": "simple"},
                "config": broker_config(),
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    pool = {
        "apiVersion": API,
        "kind": "KafkaNodePool",
        "metadata": metadata(NODE_POOL, "kafka", **CLUSTER_LABEL),
        "spec": {
            "replicas": REPLICAS,
            "roles": ["controller", "broker"],
            "storage": {"type": "jbod", "volumes": [{"id": 0, "type": "persistent-claim", "size": "20Gi",
                                                      "deleteClaim": False, "kraftMetadata": "shared"}]},
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
        },
    }
    return [kafka, pool]


def topic(spec: TopicSpec, schedule: retention.Schedule) -> dict[str, Any]:
    configs: dict[str, Any] = dict(schedule.topic_configs(spec, min_insync_replicas=MIN_INSYNC_REPLICAS))
    return {
        "apiVersion": API,
        "kind": "KafkaTopic",
        "metadata": metadata(spec.name, "kafka-topic", **CLUSTER_LABEL),
        "spec": {"topicName": spec.name, "partitions": spec.partitions, "replicas": REPLICAS, "config": configs},
    }


def topics(schedule: retention.Schedule | None = None) -> list[dict[str, Any]]:
    """Every declared topic, dead-letter topics included, kept as the schedule says (the packaged default)."""
    kept = schedule or retention.default()
    return [topic(spec, kept) for spec in all_topics()]


def _acls(bindings: list[AclBinding]) -> list[dict[str, Any]]:
    """One ALLOW rule per resource, its operations together (Read and Write imply Describe)."""
    grouped: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for binding in bindings:
        grouped[(binding.resource_type, binding.pattern_type, binding.name)].add(OPERATIONS[binding.operation])
    return [{"type": "allow",
             "resource": {"type": RESOURCE_TYPES[kind], "name": name, "patternType": PATTERN_TYPES[pattern]},
             "operations": sorted(operations)}
            for (kind, pattern, name), operations in sorted(grouped.items())]


def users() -> list[dict[str, Any]]:
    """A SCRAM-SHA-512 user per principal the declarations name (the four services and the outside systems);
    the User Operator keeps each one's password in a Secret of the user's name (key `password`)."""
    bindings = acl_bindings()
    return [{
        "apiVersion": API,
        "kind": "KafkaUser",
        "metadata": metadata(name, "kafka-user", **CLUSTER_LABEL),
        "spec": {"authentication": {"type": "scram-sha-512"},
                 "authorization": {"type": "simple", "acls": _acls([b for b in bindings if b.user == name])}},
    } for name in principals()]
