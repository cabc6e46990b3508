"""A real broker answers, and every declared topic exists as declared."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.retention import default
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, TopicSpec, all_topics
from frontdoor_stack.topics import ensure_topics

BROKER_ID = 1  # node.id of the local broker (deploy/kafka/server.properties.template)


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
        assert configs[spec.name]["retention.ms"] == str(default().retention_ms(spec)), spec.name
        assert configs[spec.name]["max.message.bytes"] == str(MAX_RECORD_BYTES), spec.name


async def test_the_broker_takes_records_of_the_producers_limit_and_no_larger(admin: AIOKafkaAdminClient) -> None:
    """The running broker's own settings, read through the admin API: the same limit as every topic and the
    producers' `max_request_size` (MAX_RECORD_BYTES)."""
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(BROKER_ID))])
    [resource] = response.resources
    settings = {entry[0]: entry[1] for entry in resource[4]}
    assert settings["message.max.bytes"] == str(MAX_RECORD_BYTES)
    assert settings["replica.fetch.max.bytes"] == str(MAX_RECORD_BYTES)


LIMIT_TOPIC = TopicSpec(name="e2e.record-limit.v1", event=None, key="test", producers=("test",), consumers=(),
                        partitions=1, description="a scratch topic with the declared configs, which nobody reads")


def _estimate(key: bytes, value: bytes, headers: list[tuple[str, bytes | None]]) -> int:
    """The producer's measure of a record against max_request_size (an upper bound)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


def _batch(key: bytes, value: bytes, headers: list[tuple[str, bytes | None]]) -> int:
    """The broker's measure against max.message.bytes: the bytes of the record's batch."""
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 2 * MAX_RECORD_BYTES)
    builder.append(0, 1_700_000_000_000, key, value, headers)
    return len(builder.build())


def _value_for(measure: Callable[[bytes], int], size: int) -> bytes:
    """The longest value whose record `measure`s at most `size` bytes."""
    value = b"x" * (size - measure(b""))
    while measure(value) > size:
        value = value[:-1]
    return value


async def test_a_record_the_producer_takes_the_topic_takes(kafka_bootstrap: str) -> None:
    """What a producer at max_request_size = MAX_RECORD_BYTES lets through, the broker stores; a record past the
    limit that a producer with a larger limit lets through, the broker refuses (the topic's max.message.bytes)."""
    await ensure_topics(kafka_bootstrap, [LIMIT_TOPIC])
    key, headers = b"limit", [("content-type", b"application/cloudevents+json")]
    largest = _value_for(lambda value: _estimate(key, value, headers), MAX_RECORD_BYTES)
    # One byte past the topic's limit, yet within Kafka's default (1 MiB + 12): only the explicit setting refuses it.
    too_large = _value_for(lambda value: _batch(key, value, headers), MAX_RECORD_BYTES + 1)
    assert _batch(key, too_large, headers) == MAX_RECORD_BYTES + 1
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True,
                                max_request_size=MAX_RECORD_BYTES)
    await producer.start()
    try:
        sent = await producer.send_and_wait(LIMIT_TOPIC.name, largest, key=key, headers=headers)
        with pytest.raises(MessageSizeTooLargeError):  # the producer's own check: one byte more is refused
            await producer.send_and_wait(LIMIT_TOPIC.name, largest + b"x", key=key, headers=headers)
    finally:
        await producer.stop()
    assert sent.offset >= 0
    lax = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=2 * MAX_RECORD_BYTES)
    await lax.start()
    try:
        with pytest.raises(KafkaError) as refused:
            await lax.send_and_wait(LIMIT_TOPIC.name, too_large, key=key, headers=headers)
    finally:
        await lax.stop()
    assert type(refused.value).__name__ == "MessageSizeTooLargeError"  # the broker's MESSAGE_TOO_LARGE


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
