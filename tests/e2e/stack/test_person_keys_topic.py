"""The stack tool makes the compacted person-key topic as declared and keeps it so: created compacted with
its tombstone and segment settings and the schedule's retention; a copy whose cleanup policy drifted to
delete (say, made by hand) is set back to every declared config, and then left alone; a tombstone (a null
value under a person's id) is taken and read back as null, and once compaction has run (forced on a copy of
the topic: segments rolled after a second) the key record before it is gone and the tombstone stays. The
privacy topics are there, one partition each, on the schedule's 30 days."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from frontdoor_contracts.retention import default
from frontdoor_contracts.topics import CONTACTS_PERSON_KEYS, DAY_MS, PRIVACY_REPLIES, PRIVACY_REQUESTS
from frontdoor_stack.topics import configs_of, ensure_topics

COMPACTED = {"cleanup.policy": "compact", "delete.retention.ms": str(7 * DAY_MS), "segment.ms": str(DAY_MS),
             "min.cleanable.dirty.ratio": "0.1"}


async def configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [resource] = response.resources
        return {entry[0]: entry[1] for entry in resource[4]}
    finally:
        await admin.close()


async def alter(bootstrap: str, topic: str, values: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=values)])
    finally:
        await admin.close()


async def settled(bootstrap: str, topic: str, key: str, value: str) -> dict[str, str]:
    """The topic's configs once the broker shows `key` = `value` (an altered config reaches it shortly after)."""
    for _ in range(100):
        found = await configs(bootstrap, topic)
        if found.get(key) == value:
            break
        await asyncio.sleep(0.1)
    return found


async def test_the_person_key_topic_is_compacted_as_declared_and_the_privacy_topics_follow_the_schedule(
        kafka_bootstrap: str) -> None:
    found = await configs(kafka_bootstrap, CONTACTS_PERSON_KEYS.name)
    assert {key: found[key] for key in COMPACTED} == COMPACTED
    assert found["retention.ms"] == str(default().retention_ms(CONTACTS_PERSON_KEYS))
    for spec in (PRIVACY_REQUESTS, PRIVACY_REPLIES):
        assert (await configs(kafka_bootstrap, spec.name))["retention.ms"] == str(30 * DAY_MS)


async def test_a_compacted_topic_that_drifted_gets_every_declared_config_back_then_is_left_alone(
        kafka_bootstrap: str) -> None:
    spec = dataclasses.replace(CONTACTS_PERSON_KEYS, name=f"scratch-person-keys-{uuid.uuid4().hex[:8]}")
    made = await ensure_topics(kafka_bootstrap, [spec])
    assert made.created == [spec.name]
    declared = configs_of(spec)
    assert declared["cleanup.policy"] == "compact"

    await alter(kafka_bootstrap, spec.name, {**declared, "cleanup.policy": "delete", "segment.ms": str(DAY_MS // 2)})
    drifted = await settled(kafka_bootstrap, spec.name, "cleanup.policy", "delete")
    assert drifted["cleanup.policy"] == "delete"

    again = await ensure_topics(kafka_bootstrap, [spec])
    assert again.configs_set == [spec.name] and again.retention_set == []  # the retention was right all along
    restored = await settled(kafka_bootstrap, spec.name, "cleanup.policy", "compact")
    assert {key: restored[key] for key in declared} == declared
    assert (await ensure_topics(kafka_bootstrap, [spec])).configs_set == []


async def test_a_tombstone_is_taken_by_the_compacted_topic_and_read_back_as_null(kafka_bootstrap: str) -> None:
    person = str(uuid.uuid4()).encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(CONTACTS_PERSON_KEYS.name, None, key=person)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(CONTACTS_PERSON_KEYS.name, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        records = (await consumer.getmany(partition, timeout_ms=10_000)).get(partition, [])
    finally:
        await consumer.stop()
    assert records and records[0].key == person and records[0].value is None


async def partition_records(bootstrap: str, partition: TopicPartition) -> list[tuple[bytes | None, bytes | None]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        found: list[tuple[bytes | None, bytes | None]] = []
        while await consumer.position(partition) < end:
            records = (await consumer.getmany(partition, timeout_ms=1000)).get(partition, [])
            found += [(r.key, r.value) for r in records if r.offset < end]
        return found
    finally:
        await consumer.stop()


async def test_compaction_removes_an_erased_persons_key_and_keeps_the_tombstone(kafka_bootstrap: str) -> None:
    quick = {**CONTACTS_PERSON_KEYS.configs, "segment.ms": "1000", "min.cleanable.dirty.ratio": "0.01"}
    spec = dataclasses.replace(CONTACTS_PERSON_KEYS, name=f"scratch-person-keys-{uuid.uuid4().hex[:8]}",
                               partitions=1, configs=quick)
    await ensure_topics(kafka_bootstrap, [spec])
    partition, person = TopicPartition(spec.name, 0), str(uuid.uuid4()).encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(spec.name, b'{"the wrapped keys": "..."}', key=person)
        await producer.send_and_wait(spec.name, None, key=person)  # erased
        await asyncio.sleep(1.5)
        await producer.send_and_wait(spec.name, None, key=str(uuid.uuid4()).encode())  # rolls the segment
    finally:
        await producer.stop()
    left: list[bytes | None] = []
    for _ in range(120):  # the log cleaner looks every 15 s when it has nothing to do
        left = [value for key, value in await partition_records(kafka_bootstrap, partition) if key == person]
        if left == [None]:
            break
        await asyncio.sleep(1.0)
    assert left == [None]
