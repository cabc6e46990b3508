"""On the replicated cluster (`frontdoor-stack up --brokers 3`), every
declared topic is what the declarations say for three brokers: its
partitions, three replicas of every partition, each declared config with
min.insync.replicas=2; the brokers' own internal topics (consumer offsets,
transactions) are replicated on all three too, and every node answers as a
broker of the one cluster."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from frontdoor_stack.kafka_cluster import KafkaCluster
from frontdoor_stack.stack import LocalStack
from frontdoor_stack.topics import differences

pytestmark = pytest.mark.e2e


async def test_every_declared_topic_follows_from_its_declaration_on_three_brokers(cluster_stack: LocalStack,
                                                                                   cluster: KafkaCluster) -> None:
    assert await differences(cluster_stack.bootstrap, 3, security=cluster.security) == []


async def test_the_internal_topics_and_the_brokers_replicate_on_every_node(cluster: KafkaCluster) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap, **cluster.security.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_cluster()
        [offsets] = await admin.describe_topics(["__consumer_offsets"])  # made when the services' groups joined
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node.node_id))
                                                  for node in cluster.nodes])
    finally:
        await admin.close()
    assert sorted(broker["node_id"] for broker in described["brokers"]) == [1, 2, 3]
    assert offsets["error_code"] == 0 and offsets["partitions"]
    assert {len(partition["replicas"]) for partition in offsets["partitions"]} == {3}
    settings: list[dict[str, Any]] = [{entry[0]: entry[1] for entry in resource[4]}
                                      for response in responses for resource in response.resources]
    assert len(settings) == 3
    for broker in settings:
        assert broker["min.insync.replicas"] == "2"
        assert broker["default.replication.factor"] == "3"
        assert broker["offsets.topic.replication.factor"] == "3"
        assert broker["transaction.state.log.replication.factor"] == "3"
        assert broker["transaction.state.log.min.isr"] == "2"
        assert broker["unclean.leader.election.enable"] == "false"  # an out-of-sync replica never leads
