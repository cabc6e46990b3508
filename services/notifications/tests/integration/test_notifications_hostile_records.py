"""No record stops the notifications consumer: every hostile record on each topic it
consumes (tests/hostile_records.py: bytes that are not JSON, 100,000-deep
nesting, 5,000-digit integers, NaN, invalid UTF-8, and structured mutations
of the topic's real example) is applied or dead-lettered, and a valid record
after them is applied; through the service's own routes and the kit's
consumer, on SQLite and PostgreSQL. The valid record of the two sealed
topics (a person's key, a privacy request) is one sealed for this service
(sealed_children): the stored examples are sealed under other keys, and
given new ids they no longer open anywhere (which this service dead-letters,
rightly)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from hostile_records import FIXED, check_consumer, consumer_record, corpus, dead_lettered, event_type_of, hostile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sealed_children import ChildKeys, privacy_request
from sqlalchemy.engine import Engine

from frontdoor_contracts.envelope import encode_event
from frontdoor_contracts.topics import topics_consumed_by
from frontdoor_platform.consumer import BatchConsumer
from notifications import subscriptions
from notifications.app import rules_from
from notifications.metrics import Metrics
from notifications.models import OutboxEvent
from notifications.settings import Settings

TOPICS = [spec.name for spec in topics_consumed_by("notifications")]
STARTS = itertools.count(1_000_000, 1_000)
SEALED = {"contacts.person-keys.v1", "privacy.requests.v1"}


def valid_sealed(topic: str) -> bytes:
    """A valid record of a sealed topic, sealed for this service (its development wrapping key)."""
    if topic == "contacts.person-keys.v1":
        return ChildKeys().key_bytes(uuid.uuid4())
    event, _ = privacy_request("access", [uuid.uuid4()], share={"upns": []})
    return encode_event(event)


def check(consumer: BatchConsumer, engine: Engine, topic: str, values: list[bytes], start: int = 0) -> None:
    """hostile_records.check_consumer, with a valid record of this service's making on the sealed topics."""
    if topic not in SEALED:
        check_consumer(consumer, engine, OutboxEvent, topic, values, start)
        return
    batch = [consumer_record(topic, start + i, value) for i, value in enumerate(values)]
    batch.append(consumer_record(topic, start + len(values), valid_sealed(topic)))
    result = consumer.apply_batch(batch)
    assert len(result.handled) + len(result.dead_lettered) == len(batch)
    dead = dead_lettered(engine, OutboxEvent, topic)
    assert start + len(values) not in dead, "the valid record after the hostile ones was dead-lettered"
    fixed = {raw for _, raw in FIXED}
    assert all(start + i in dead for i, raw in enumerate(values) if raw in fixed), "a fixed hostile record applied"


def consumer(engine: Engine) -> BatchConsumer:
    routes = subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None)
    return BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes,
                         engine=engine, outbox=OutboxEvent, metrics=Metrics())


@pytest.mark.parametrize("topic", TOPICS)
def test_every_hostile_record_is_applied_or_dead_lettered_and_a_valid_one_after_them_applied(
        engine: Engine, topic: str) -> None:
    check(consumer(engine), engine, topic, [raw for _, raw in corpus(event_type_of(topic))])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_records_are_applied_or_dead_lettered(engine: Engine, data: Any) -> None:
    topic = data.draw(st.sampled_from(TOPICS))
    values = data.draw(st.lists(hostile(event_type_of(topic)), min_size=1, max_size=6))
    check(consumer(engine), engine, topic, values, start=next(STARTS))
