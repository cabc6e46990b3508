"""The outcomes stream takes a record only from a producer its topic declares: on every input topic, a record
whose CloudEvent source claims another service is dead-lettered (`source_not_allowed`) and changes nothing; the
declared producer's record after it is applied. (The faust tables are plain dicts, as in test_stream_hostile.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hostile_records import encode, example, fresh
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.sources import SERVICE_SOURCES
from frontdoor_contracts.topics import SERVICES, all_topics
from frontdoor_platform.outbox import stored_headers
from frontdoor_platform.routes import Incoming
from outcomes.models import OutboxEvent
from outcomes.stream.agents import FaustStream
from outcomes.stream.processor import INPUT_TOPICS, MODELS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PRODUCERS = {spec.name: spec.producers for spec in all_topics()}


def claiming(topic: str, service: str) -> bytes:
    return encode({**fresh(example(MODELS[topic].EVENT_TYPE)), "source": f"{SERVICE_SOURCES[service]}:somewhere"})


def dead_letters(engine: Engine, topic: str) -> dict[int, str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == f"{topic}.dlq")).all()
    return {int(dict(stored_headers(row))["dlq.offset"]): dict(stored_headers(row))["dlq.reason"].decode()
            for row in rows}


@pytest.mark.parametrize("topic", INPUT_TOPICS)
async def test_a_record_claiming_a_producer_its_topic_does_not_declare_is_dead_lettered(
        stream: FaustStream, engine: Engine, topic: str) -> None:
    strangers = [service for service in SERVICES if service not in PRODUCERS[topic]]
    producer = PRODUCERS[topic][0]
    values = [claiming(topic, service) for service in strangers] + [claiming(topic, producer)]
    await stream._handle([Incoming(topic, 0, offset, b"k", value) for offset, value in enumerate(values)])
    assert strangers and dead_letters(engine, topic) == {offset: "source_not_allowed"
                                                         for offset in range(len(strangers))}
    assert stream.applied[(topic, 0)] == len(values)  # every offset is behind the stream
    pictures = json.dumps(stream.families)
    ids = [json.loads(value)["id"] for value in values]
    assert not any(event_id in pictures for event_id in ids[:-1])  # the refused ones changed nothing
