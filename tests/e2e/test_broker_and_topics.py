"""A real broker answers, and every declared topic exists as declared."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, all_topics
from frontdoor_stack.topics import ensure_topics


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


async def test_the_broker_answers(admin: AIOKafkaAdminClient) -> None:
    cluster = await admin.describe_cluster()
    assert len(cluster["brokers"]) == 1


async def test_every_declared_topic_exists_with_its_partitions(admin: AIOKafkaAdminClient) -> None:
    described = {t["topic"]: t for t in await admin.describe_topics([s.name for s in all_topics()])}
    for spec in all_topics():
        assert described[spec.name]["error_code"] == 0, spec.name
        assert len(described[spec.name]["partitions"]) == spec.partitions, spec.name


async def test_topic_configs_are_the_declared_ones(admin: AIOKafkaAdminClient) -> None:
    specs = all_topics()
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs])
    configs = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in responses
        for resource in response.resources
    }
    for spec in specs:
        assert configs[spec.name]["cleanup.policy"] == spec.cleanup_policy, spec.name
        assert configs[spec.name]["retention.ms"] == str(spec.retention_ms), spec.name


async def test_ensure_topics_twice_is_harmless(kafka_bootstrap: str) -> None:
    first = await ensure_topics(kafka_bootstrap)
    second = await ensure_topics(kafka_bootstrap)
    names = sorted(spec.name for spec in all_topics())
    assert first.created == second.created == []
    assert sorted(second.existing) == names
    assert second.mismatched == []


async def test_auto_topic_creation_is_off(admin: AIOKafkaAdminClient, kafka_bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=1500)
    await producer.start()
    try:
        with pytest.raises(KafkaError):
            await producer.send_and_wait("frontdoor.not-declared.v1", b"{}")
    finally:
        await producer.stop()
    assert "frontdoor.not-declared.v1" not in await admin.list_topics()


async def test_a_record_round_trips(kafka_bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(FRONTDOOR_CONTACTS.name, b"{}", key=b"round-trip")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(FRONTDOOR_CONTACTS.name, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"round-trip", b"{}")
