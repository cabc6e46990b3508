"""Create the platform's topics, as `frontdoor_contracts.topics` declares
them, idempotently: missing topics are created, existing ones left alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from frontdoor_contracts.topics import TopicSpec, all_topics
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity


@dataclass
class TopicsResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


def min_insync_for(replication_factor: int) -> int:
    """One on a single broker; otherwise leave one replica's worth of slack (at most 2)."""
    return 1 if replication_factor < 3 else 2


def new_topic(spec: TopicSpec, replication_factor: int | None = None) -> NewTopic:
    replication = replication_factor or spec.replication_factor
    return NewTopic(
        name=spec.name,
        num_partitions=spec.partitions,
        replication_factor=replication,
        topic_configs=spec.topic_configs(min_insync_replicas=min_insync_for(replication)),
    )


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] | None = None,
    replication_factor: int | None = None,
    request_timeout_ms: int = 30000,
    security: KafkaSecurity = PLAINTEXT,
) -> TopicsResult:
    """On a secured broker, as a principal allowed to create topics (the stack's admin)."""
    specs = tuple(all_topics() if specs is None else specs)
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
            response = await admin.create_topics([new_topic(spec, replication_factor) for spec in missing])
            for error in response.topic_errors:
                name, code = error[0], error[1]
                message = error[2] if len(error) > 2 else ""
                if code == 0:
                    result.created.append(name)
                elif code == TopicAlreadyExistsError.errno:  # created meanwhile by someone else
                    result.existing.append(name)
                else:
                    raise for_code(code)(f"could not create topic {name}: {message}")
    finally:
        await admin.close()
    return result
