"""No record stops the outcomes stream: the stream's batch logic (the
agent's `_handle`: steps, the SQL side, offsets, dead letters) run on every
hostile record of every input topic (and of privacy requests) and a valid record after them, on a real
database (SQLite and PostgreSQL). The faust tables are plain dicts here (a
table needs a running app only to write its changelog); the broker side of
the stream is covered end to end."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hostile_records import corpus, encode, example, fresh, hostile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from frontdoor_platform.outbox import stored_headers
from frontdoor_platform.routes import Incoming
from outcomes.models import OutboxEvent
from outcomes.stream import agents, ledger
from outcomes.stream.agents import FaustStream
from outcomes.stream.processor import INPUT_TOPICS, MODELS, REQUESTS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EVENTS = {**MODELS, **REQUESTS}  # what the live stream reads: its input topics and privacy requests


def dead_letters(engine: Engine, topic: str) -> dict[int, str]:
    """offset → reason of the records of `topic` dead-lettered."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == f"{topic}.dlq")).all()
    found = {}
    for row in rows:
        headers = dict(stored_headers(row))
        found[int(headers["dlq.offset"])] = headers["dlq.reason"].decode()
    return found


def records(topic: str, values: list[bytes], start: int = 0) -> list[Incoming]:
    return [Incoming(topic, 0, start + i, b"k", value) for i, value in enumerate(values)]


def valid(topic: str) -> bytes:
    return encode(fresh(example(EVENTS[topic].EVENT_TYPE)))


@pytest.mark.parametrize("topic", [*INPUT_TOPICS, *REQUESTS])
async def test_every_hostile_record_of_an_input_topic_is_applied_or_dead_lettered_and_a_valid_one_after_it_applied(
        stream: FaustStream, engine: Engine, topic: str) -> None:
    named = corpus(EVENTS[topic].EVENT_TYPE)
    batch = records(topic, [raw for _, raw in named] + [valid(topic)])
    await stream._handle(batch)
    assert stream.applied[(topic, 0)] == len(batch)  # every offset is behind the stream
    dead = dead_letters(engine, topic)
    assert len(batch) - 1 not in dead  # the valid record was applied
    parsed = {name for name, raw in named if raw == b""}  # nothing of the kind, but: every fixed bad one is dead
    assert parsed == {"empty"} and dead[0] in {"not_json", "undecodable"}
    assert len(dead) >= len(named) - sum(1 for name, _ in named if name.startswith(("null:", "removed:")))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_records_on_contacts_recorded_are_applied_or_dead_lettered(stream: FaustStream, engine: Engine,
                                                                     data: Any) -> None:
    topic = "contacts.recorded.v1"
    values = data.draw(st.lists(hostile(MODELS[topic].EVENT_TYPE), min_size=1, max_size=6))
    start = stream.applied.get((topic, 0), 0)
    batch = records(topic, [*values, valid(topic)], start)
    asyncio.run(stream._handle(batch))
    assert stream.applied[(topic, 0)] == start + len(batch)
    assert start + len(batch) - 1 not in dead_letters(engine, topic)


async def test_a_record_whose_sql_side_fails_twice_is_dead_lettered_and_the_rest_of_the_batch_written(
        stream: FaustStream, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = "contacts.recorded.v1"
    batch = records(topic, [valid(topic) for _ in range(5)])
    write = ledger.record

    def refusing(session: Session, steps: Any, *args: Any, **kwargs: Any) -> set[str]:
        steps = list(steps)
        if any(step.incoming is not None and step.incoming.offset == 2 and step.error is None for step in steps):
            raise ValueError("a read-model rule the record breaks")
        return write(session, steps, *args, **kwargs)

    monkeypatch.setattr(agents.ledger, "record", refusing)
    await stream._handle(batch)
    assert dead_letters(engine, topic) == {2: "handler_failed"}
    assert stream.applied[(topic, 0)] == 5
    pictures = json.dumps(stream.families)
    ids = [json.loads(record.value or b"")["id"] for record in batch]
    assert [event_id in pictures for event_id in ids] == [True, True, False, True, True]  # the refused one undone


async def test_the_database_not_answering_is_retried_not_dead_lettered(
        stream: FaustStream, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = "contacts.recorded.v1"
    write, failures = ledger.record, {"left": 2}

    def down(session: Session, steps: Any, *args: Any, **kwargs: Any) -> set[str]:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return write(session, steps, *args, **kwargs)

    monkeypatch.setattr(agents.ledger, "record", down)
    await stream._handle(records(topic, [valid(topic), valid(topic)]))
    assert failures["left"] == 0 and dead_letters(engine, topic) == {}
    assert stream.applied[(topic, 0)] == 2 and dead_letters(engine, topic) == {}


async def test_a_replay_below_the_sql_offsets_is_applied_to_tables_that_lost_it(stream: FaustStream) -> None:
    """A SIGKILL between the SQL commit and the tables' changelog: SQL holds the records, the pictures do not."""
    topic = "contacts.recorded.v1"
    batch = records(topic, [valid(topic) for _ in range(3)])
    await stream._handle(batch)
    held = json.dumps(stream.families)
    stream.families.clear()  # the tables as a restart restores them from a changelog that never got the batch
    await stream._handle(batch)  # faust replays from its own committed offset, below the stream's SQL offsets
    assert json.dumps(stream.families) == held and stream.applied[(topic, 0)] == 3


async def test_a_batch_failing_outside_its_retries_is_retried_not_dropped_by_the_agent(
        stream: FaustStream, monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent that raised would be restarted by faust with its batch acknowledged and never applied."""
    topic = "contacts.recorded.v1"
    batch = records(topic, [valid(topic), valid(topic)])
    count, failures = stream._count, {"left": 1}

    def failing_once(*args: Any) -> None:  # after the SQL commit, outside _handle's own retries
        if failures["left"]:
            failures["left"] -= 1
            raise TypeError("'NoneType' object is not iterable")
        count(*args)

    monkeypatch.setattr(stream, "_count", failing_once)
    await stream._handle_until_done(batch)  # one retry, a second later
    assert failures["left"] == 0 and stream.applied[(topic, 0)] == 2
    assert stream.metrics.consumer_restarts._value.get() == 1
    assert all(json.loads(record.value or b"")["id"] in json.dumps(stream.families) for record in batch)
