"""Create the platform's topics, as `frontdoor_contracts.topics` declares
them, idempotently: missing topics are created with their configs, the
retention from the retention schedule in force (`retention.configured()`:
FRONTDOOR_RETENTION_SCHEDULE's file, else the packaged one); an existing
topic any of whose declared configs differs from the declaration (its
`retention.ms` from the schedule, a compacted topic's `cleanup.policy`,
`delete.retention.ms`, `segment.ms`, `min.cleanable.dirty.ratio`...) gets
them all again, and otherwise is left alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from frontdoor_contracts import retention
from frontdoor_contracts.retention import Schedule
from frontdoor_contracts.topics import TopicSpec, all_topics
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity


@dataclass
class TopicsResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    retention_set: list[str] = field(default_factory=list)  # existing topics whose retention.ms was changed
    configs_set: list[str] = field(default_factory=list)  # existing topics whose declared configs were set again


def min_insync_for(replication_factor: int) -> int:
    """One on a single broker; otherwise leave one replica's worth of slack (at most 2)."""
    return 1 if replication_factor < 3 else 2


def configs_of(spec: TopicSpec, replication_factor: int | None = None, schedule: Schedule | None = None,
               ) -> dict[str, str]:
    replication = replication_factor or spec.replication_factor
    return (schedule or retention.default()).topic_configs(spec, min_insync_for(replication))


def new_topic(spec: TopicSpec, replication_factor: int | None = None, schedule: Schedule | None = None) -> NewTopic:
    return NewTopic(
        name=spec.name,
        num_partitions=spec.partitions,
        replication_factor=replication_factor or spec.replication_factor,
        topic_configs=configs_of(spec, replication_factor, schedule),
    )


async def _follow_declarations(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: dict[str, int],
                               schedule: Schedule) -> tuple[list[str], list[str]]:
    """Existing topics any of whose declared configs differs from what the broker holds get all their
    declared configs again (AlterConfigs replaces a topic's dynamic configs as a whole); the names of those
    whose retention.ms differed, and of all those set. `replication`: each topic's replication factor (its
    min.insync.replicas follows from it)."""
    if not specs:
        return [], []
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs])
    found = {resource[3]: {entry[0]: entry[1] for entry in resource[4]}
             for response in responses for resource in response.resources}
    wanted = {spec.name: configs_of(spec, replication.get(spec.name), schedule) for spec in specs}
    stale = [spec for spec in specs
             if any(found.get(spec.name, {}).get(key) != value for key, value in wanted[spec.name].items())]
    if stale:
        responses = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, spec.name,
                                                              configs=wanted[spec.name]) for spec in stale])
        for response in responses:
            for code, message, _kind, name in response.resources:
                if code != 0:
                    raise for_code(code)(f"could not set the configs of topic {name}: {message}")
    retention = [spec.name for spec in stale
                 if found.get(spec.name, {}).get("retention.ms") != wanted[spec.name]["retention.ms"]]
    return retention, [spec.name for spec in stale]


def _replication(topic: dict[str, Any]) -> int | None:
    """An existing topic's replication factor, from its first partition's replicas."""
    partitions = topic.get("partitions") or []
    replicas = partitions[0].get("replicas") if partitions else None
    return len(replicas) if replicas else None


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] | None = None,
    replication_factor: int | None = None,
    request_timeout_ms: int = 30000,
    security: KafkaSecurity = PLAINTEXT,
    schedule: Schedule | None = None,
) -> TopicsResult:
    """On a secured broker, as a principal allowed to create topics (the stack's admin); the retention
    from `schedule` (default: the one in force)."""
    specs = tuple(all_topics() if specs is None else specs)
    schedule = schedule or retention.configured()
    result = TopicsResult()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms,
                                **security.client_kwargs())
    await admin.start()
    try:
        present = {t["topic"]: t for t in await admin.describe_topics()}
        missing = [spec for spec in specs if spec.name not in present]
        for spec in specs:
            if spec.name in present:
                result.existing.append(spec.name)
                if len(present[spec.name]["partitions"]) != spec.partitions:
                    result.mismatched.append(spec.name)
        if missing:
            response = await admin.create_topics([new_topic(spec, replication_factor, schedule) for spec in missing])
            for error in response.topic_errors:
                name, code = error[0], error[1]
                message = error[2] if len(error) > 2 else ""
                if code == 0:
                    result.created.append(name)
                elif code == TopicAlreadyExistsError.errno:  # created meanwhile by someone else
                    result.existing.append(name)
                else:
                    raise for_code(code)(f"could not create topic {name}: {message}")
        existing = [spec for spec in specs if spec.name in present]
        replication = {spec.name: replication_factor or _replication(present[spec.name]) or spec.replication_factor
                       for spec in existing}
        result.retention_set, result.configs_set = await _follow_declarations(admin, existing, replication,
                                                                              schedule)
    finally:
        await admin.close()
    return result


async def differences(bootstrap: str, replication_factor: int, security: KafkaSecurity = PLAINTEXT,
                      specs: Iterable[TopicSpec] | None = None, schedule: Schedule | None = None) -> list[str]:
    """What the broker holds that does not follow from the declarations on a layout of `replication_factor`
    replicas: a topic missing, its partition count, any partition's replicas, any declared config (their
    min.insync.replicas from the replication); one line a difference (names and settings, no record)."""
    specs = tuple(all_topics() if specs is None else specs)
    schedule = schedule or retention.configured()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000, **security.client_kwargs())
    await admin.start()
    try:
        present = {t["topic"]: t for t in await admin.describe_topics([spec.name for spec in specs])}
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs])
    finally:
        await admin.close()
    found = {resource[3]: {entry[0]: entry[1] for entry in resource[4]}
             for response in responses for resource in response.resources}
    lines = []
    for spec in specs:
        topic = present.get(spec.name)
        if topic is None or topic["error_code"] != 0:
            lines.append(f"{spec.name}: missing")
            continue
        if len(topic["partitions"]) != spec.partitions:
            lines.append(f"{spec.name}: {len(topic['partitions'])} partitions, declared {spec.partitions}")
        replicas = sorted({len(partition["replicas"]) for partition in topic["partitions"]})
        if replicas != [replication_factor]:
            lines.append(f"{spec.name}: replicas {replicas}, wanted {replication_factor}")
        for key, value in configs_of(spec, replication_factor, schedule).items():
            if found.get(spec.name, {}).get(key) != value:
                lines.append(f"{spec.name}: {key}={found.get(spec.name, {}).get(key)}, declared {value}")
    return lines
