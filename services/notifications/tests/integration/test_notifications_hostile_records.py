"""No record stops the notifications consumer: every hostile record on each topic it
consumes (tests/hostile_records.py: bytes that are not JSON, 100,000-deep
nesting, 5,000-digit integers, NaN, invalid UTF-8, and structured mutations
of the topic's real example) is applied or dead-lettered, and a valid record
after them is applied; through the service's own routes and the kit's
consumer, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hostile_records import check_consumer, corpus, event_type_of, hostile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from frontdoor_contracts.topics import topics_consumed_by
from frontdoor_platform.consumer import BatchConsumer
from notifications import subscriptions
from notifications.app import rules_from
from notifications.metrics import Metrics
from notifications.models import OutboxEvent
from notifications.settings import Settings

TOPICS = [spec.name for spec in topics_consumed_by("notifications")]
STARTS = itertools.count(1_000_000, 1_000)


def consumer(engine: Engine) -> BatchConsumer:
    routes = subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None)
    return BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes,
                         engine=engine, outbox=OutboxEvent, metrics=Metrics())


@pytest.mark.parametrize("topic", TOPICS)
def test_every_hostile_record_is_applied_or_dead_lettered_and_a_valid_one_after_them_applied(
        engine: Engine, topic: str) -> None:
    check_consumer(consumer(engine), engine, OutboxEvent, topic, [raw for _, raw in corpus(event_type_of(topic))])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_records_are_applied_or_dead_lettered(engine: Engine, data: Any) -> None:
    topic = data.draw(st.sampled_from(TOPICS))
    values = data.draw(st.lists(hostile(event_type_of(topic)), min_size=1, max_size=6))
    check_consumer(consumer(engine), engine, OutboxEvent, topic, values, start=next(STARTS))
