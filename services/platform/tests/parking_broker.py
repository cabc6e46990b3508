"""Helpers of the parking tests on the real broker (unique module name): a
fresh topic (capped as the platform's are), a started publisher, and
everything a topic holds now."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_platform.kafka import Publisher


async def create_topic(bootstrap: str, name: str | None = None) -> str:
    name = name or f"kit.parking-{uuid.uuid4().hex[:10]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=name, num_partitions=1, replication_factor=1,
                                            topic_configs={"max.message.bytes": str(MAX_RECORD_BYTES)})])
    finally:
        await admin.close()
    return name


async def started_publisher(bootstrap: str, timeout_seconds: float = 5.0) -> Publisher:
    publisher = Publisher(bootstrap, timeout_seconds, client_id="kit-parking-test")
    publisher.start()
    async with asyncio.timeout(60):
        while not await publisher.ready():
            await asyncio.sleep(0.1)
    return publisher


async def records_on(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record the topic holds now (read up to its end offset, so an absence is certain)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        seen: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(60):
            while await consumer.position(partition) < end:
                for records in (await consumer.getmany(partition, timeout_ms=500)).values():
                    seen += records
        return seen
    finally:
        await consumer.stop()
