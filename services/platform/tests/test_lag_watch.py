"""Consumer lag measured from outside the worker, against the real broker:
a group that committed part of a topic is behind by the rest, a partition it
never committed counts from its log start, and the watch's metrics say so
whether or not any consumer of the group is alive."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import CollectorRegistry, generate_latest

from frontdoor_platform.lag import GroupWatch, group_offsets

pytestmark = pytest.mark.e2e


def test_lag_and_committed_offsets_per_topic_from_partition_offsets() -> None:
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    seen = group_offsets(["a", "b"], committed={a0: 7}, starts={a0: 0, a1: 2, b0: 0}, ends={a0: 10, a1: 5, b0: 0})
    assert seen.lag == {"a": 3 + 3, "b": 0}  # a1 never committed: from its log start (2) to its end (5)
    assert seen.committed == {"a": 7 + 2, "b": 0}


async def test_the_watch_reads_a_groups_lag_from_the_broker_with_no_consumer_alive(kafka_bootstrap: str) -> None:
    topic, group = f"lag-watch-{uuid.uuid4().hex[:8]}", f"lag-watch-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, b"x", partition=i % 2)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "")})
    finally:
        await consumer.stop()  # no consumer of the group is alive from here on

    watch = GroupWatch("kit", kafka_bootstrap, group, [topic], worker_up=lambda: False, interval_seconds=1)
    try:
        seen = await watch.refresh()
    finally:
        await watch.stop()
    assert seen.lag == {topic: (5 - 3) + 5} and seen.committed == {topic: 3}
    registry = CollectorRegistry()
    registry.register(watch)
    text = generate_latest(registry).decode()
    assert f'frontdoor_kit_group_lag_records{{topic="{topic}"}} 7.0' in text
    assert "frontdoor_kit_group_watch_up 1.0" in text and "frontdoor_kit_worker_up 0.0" in text
