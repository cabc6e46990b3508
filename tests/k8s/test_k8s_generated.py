"""deploy/k8s/base/ is what the generator writes from the declarations, and the Strimzi topics and users are the
declarations': every declared topic (partitions, cleanup, configs, retention from the schedule, replication 3,
min.insync.replicas 2) and every principal with exactly the ACLs the secured local stack grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frontdoor_k8s import generate, kafka

from frontdoor_contracts import retention
from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.topics import SERVICES, all_topics
from frontdoor_stack.acls import acl_bindings, principals


def base_documents(relative: str) -> list[dict[str, Any]]:
    return generate.manifests()[relative]


def test_the_checked_in_base_equals_a_fresh_generation() -> None:
    assert generate.differences() == [], "deploy/k8s/base/ is stale: run make k8s"


def test_a_changed_or_stale_file_is_found_and_generate_writes_it_back(tmp_path: Path) -> None:
    assert generate.write(tmp_path)  # everything written into an empty folder
    assert generate.differences(tmp_path) == []
    topics = tmp_path / "kafka" / "topics.yaml"
    topics.write_text(topics.read_text().replace("partitions: 3", "partitions: 4", 1))
    (tmp_path / "kafka" / "old.yaml").write_text(generate.HEADER + "kind: Old\n")
    assert generate.differences(tmp_path) == ["kafka/old.yaml", "kafka/topics.yaml"]
    assert sorted(p.name for p in generate.write(tmp_path)) == ["topics.yaml"]
    assert generate.differences(tmp_path) == [] and not (tmp_path / "kafka" / "old.yaml").exists()


def test_every_declared_topic_is_a_kafka_topic_as_declared_and_kept_as_the_schedule_says() -> None:
    schedule = retention.default()
    topics = {doc["spec"]["topicName"]: doc for doc in base_documents("kafka/topics.yaml")}
    assert set(topics) == {spec.name for spec in all_topics()}
    for spec in all_topics():
        found = topics[spec.name]
        assert found["metadata"]["name"] == spec.name
        assert found["metadata"]["labels"]["strimzi.io/cluster"] == "frontdoor-kafka"
        assert found["spec"]["partitions"] == spec.partitions
        assert found["spec"]["replicas"] == 3
        config = found["spec"]["config"]
        assert config["min.insync.replicas"] == "2"
        assert config["cleanup.policy"] == spec.cleanup_policy
        assert config["retention.ms"] == str(schedule.retention_ms(spec))
        assert config["max.message.bytes"] == str(MAX_RECORD_BYTES)
        assert spec.configs.items() <= config.items()
    compacted = topics["contacts.person-keys.v1"]["spec"]["config"]
    assert compacted["cleanup.policy"] == "compact" and "delete.retention.ms" in compacted


def test_every_principal_is_a_kafka_user_with_exactly_the_stacks_acls() -> None:
    users = {doc["metadata"]["name"]: doc for doc in base_documents("kafka/users.yaml")}
    assert tuple(sorted(users)) == principals()
    granted = set()
    for name, user in users.items():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["type"] == "allow" and "host" not in acl
            resource = acl["resource"]
            granted |= {(name, resource["type"], resource["patternType"], resource["name"], operation)
                        for operation in acl["operations"]}
    expected = {(b.user, b.resource_type.lower(), {"LITERAL": "literal", "PREFIXED": "prefix"}[b.pattern_type],
                 b.name, b.operation.capitalize()) for b in acl_bindings()}
    assert granted == expected
    assert {"contacts", "allocation", "notifications", "outcomes"} == set(SERVICES) <= set(users)


def test_the_cluster_is_kraft_with_three_dual_role_nodes_and_the_stacks_broker_settings() -> None:
    kafka_resource, pool = base_documents("kafka/cluster.yaml")
    assert kafka_resource["kind"] == "Kafka" and pool["kind"] == "KafkaNodePool"
    assert pool["spec"]["replicas"] == 3 and sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka_resource["metadata"]["name"]
    config = kafka_resource["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False
    assert config["min.insync.replicas"] == 2 and config["default.replication.factor"] == 3
    assert config["message.max.bytes"] == config["replica.fetch.max.bytes"] == MAX_RECORD_BYTES
    (listener,) = kafka_resource["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert kafka_resource["spec"]["kafka"]["authorization"] == {"type": "simple"}
    assert kafka_resource["spec"]["entityOperator"] == {"topicOperator": {}, "userOperator": {}}
    assert kafka.broker_config() == config
