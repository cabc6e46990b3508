"""The stack tool keeps the broker's topics on the retention schedule in force: an authority's schedule
changes an existing topic's retention.ms (its other declared configs kept), the packaged one puts it back,
and a topic already on the schedule is left alone."""

from __future__ import annotations

import asyncio
import dataclasses

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.retention import INTAKE, default
from frontdoor_contracts.topics import DAY_MS, FRONTDOOR_CONTACTS
from frontdoor_stack.topics import ensure_topics


async def configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [resource] = response.resources
        return {entry[0]: entry[1] for entry in resource[4]}
    finally:
        await admin.close()


async def settled(bootstrap: str, topic: str, retention_ms: int) -> dict[str, str]:
    """The topic's configs once the broker shows `retention_ms` (an altered config reaches it shortly after)."""
    for _ in range(100):
        found = await configs(bootstrap, topic)
        if found["retention.ms"] == str(retention_ms):
            break
        await asyncio.sleep(0.1)
    return found


async def test_an_authoritys_schedule_changes_an_existing_topics_retention_and_the_default_restores_it(
        kafka_bootstrap: str) -> None:
    packaged = default()
    week = dataclasses.replace(packaged.of(INTAKE), days=7)
    borough = dataclasses.replace(packaged, classes={**packaged.classes, INTAKE: week})
    topic = FRONTDOOR_CONTACTS.name
    try:
        changed = await ensure_topics(kafka_bootstrap, [FRONTDOOR_CONTACTS], schedule=borough)
        assert changed.retention_set == [topic] and changed.created == []
        found = await settled(kafka_bootstrap, topic, 7 * DAY_MS)
        assert found["retention.ms"] == str(7 * DAY_MS)
        assert found["max.message.bytes"] == str(MAX_RECORD_BYTES) and found["cleanup.policy"] == "delete"
    finally:
        restored = await ensure_topics(kafka_bootstrap, [FRONTDOOR_CONTACTS], schedule=packaged)
    assert restored.retention_set == [topic]
    found = await settled(kafka_bootstrap, topic, default().retention_ms(FRONTDOOR_CONTACTS))
    assert found["retention.ms"] == str(default().retention_ms(FRONTDOOR_CONTACTS))
    assert (await ensure_topics(kafka_bootstrap, [FRONTDOOR_CONTACTS])).retention_set == []
