"""Parking on the real broker, on SQLite and PostgreSQL: a row that can never
be published is parked with its reason and counted, the other keys go on, a
later row of its key waits until it is re-sent (once its cause is gone) or
discarded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from kit_tables import KitOutbox, KitTable
from parking_broker import create_topic, records_on, started_publisher
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_platform.database import build_engine
from frontdoor_platform.kafka import Publisher
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import OutboxRelay, add_record, count_parked, count_pending, discard, resend

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OVERSIZED = b"x" * 1_430_000  # the 1.43 MB row, past MAX_RECORD_BYTES


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    KitTable.metadata.create_all(built)
    yield built
    built.dispose()


@pytest.fixture
async def publisher(kafka_bootstrap: str) -> AsyncIterator[Publisher]:
    started = await started_publisher(kafka_bootstrap, timeout_seconds=3.0)
    yield started
    await started.stop()


def add(engine: Engine, rows: list[tuple[str, str, bytes, str]]) -> None:
    with Session(engine) as session:
        for topic, key, payload, event_id in rows:
            add_record(session, KitOutbox, topic, key, payload, event_id, NOW, [("content-type", b"x")])
        session.commit()


def row(engine: Engine, event_id: str) -> KitOutbox:
    with Session(engine) as session:
        return session.exec(select(KitOutbox).where(KitOutbox.event_id == event_id)).one()


def values(records: list) -> list[bytes]:  # type: ignore[type-arg]
    return [r.value for r in records]


async def test_an_oversized_row_is_parked_and_resent_once_it_fits(db: Engine, publisher: Publisher,
                                                                  kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap)
    assert len(OVERSIZED) > MAX_RECORD_BYTES
    add(db, [(topic, "a", OVERSIZED, "a-1"), (topic, "b", b"b-1", "b-1"), (topic, "a", b"a-2", "a-2")])
    metrics = KitMetrics("kit")
    relay = OutboxRelay(db, KitOutbox, publisher, metrics, batch_size=10, clock=lambda: NOW)
    assert await relay.publish_pending() == 2  # a-1 parked, b-1 published, a-2 waits (no failure)
    assert relay.healthy and values(await records_on(kafka_bootstrap, topic)) == [b"b-1"]
    parked = row(db, "a-1")
    assert (parked.parked_at, parked.park_reason, parked.published_at) == (NOW, "record_too_large", None)
    sample = metrics.registry.get_sample_value
    assert sample("frontdoor_kit_outbox_parked_total", {"topic": topic, "reason": "record_too_large"}) == 1
    assert (sample("frontdoor_kit_outbox_parked_rows"), sample("frontdoor_kit_outbox_pending")) == (1, 1)
    add(db, [(topic, "b", b"b-2", "b-2")])
    assert await relay.publish_pending() == 1  # another key goes on; a-2 still waits
    assert values(await records_on(kafka_bootstrap, topic)) == [b"b-1", b"b-2"]
    with Session(db) as session:  # the cause is removed (the row fits now), then it is re-sent
        session.execute(update(KitOutbox).where(KitOutbox.event_id == "a-1").values(payload=b"a-1"))  # type: ignore[arg-type]
        session.commit()
        assert resend(session, KitOutbox, [parked.id or 0]) == [parked.id]
    assert await relay.publish_pending() == 2
    assert values(await records_on(kafka_bootstrap, topic)) == [b"b-1", b"b-2", b"a-1", b"a-2"]  # a's order held
    assert (sample("frontdoor_kit_outbox_parked_rows"), sample("frontdoor_kit_outbox_pending")) == (0, 0)


async def test_a_discarded_row_is_never_published_and_its_key_goes_on(db: Engine, publisher: Publisher,
                                                                     kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap)
    add(db, [(topic, "a", OVERSIZED, "a-1"), (topic, "a", b"a-2", "a-2")])
    relay = OutboxRelay(db, KitOutbox, publisher, KitMetrics("kit"), batch_size=10, clock=lambda: NOW)
    assert await relay.publish_pending() == 1
    assert await relay.publish_pending() == 0 and await records_on(kafka_bootstrap, topic) == []
    with Session(db) as session:
        assert discard(session, KitOutbox, None, NOW) == [row(db, "a-1").id]
        assert (count_pending(session, KitOutbox), count_parked(session, KitOutbox)) == (1, 0)
    assert await relay.publish_pending() == 1
    assert values(await records_on(kafka_bootstrap, topic)) == [b"a-2"]
    discarded = row(db, "a-1")
    assert discarded.discarded_at == NOW and discarded.published_at is None
    assert discarded.park_reason == "record_too_large"  # kept: why it was parked


async def test_a_topic_the_broker_lacks_is_parked_and_resent_once_it_exists(db: Engine, publisher: Publisher,
                                                                           kafka_bootstrap: str) -> None:
    topic, later = await create_topic(kafka_bootstrap), f"kit.parking-later-{uuid.uuid4().hex[:10]}.v1"
    add(db, [(later, "u", b"u-1", "u-1"), (topic, "b", b"b-1", "b-1"), ("not a topic!", "v", b"v-1", "v-1")])
    relay = OutboxRelay(db, KitOutbox, publisher, KitMetrics("kit"), batch_size=10, clock=lambda: NOW)
    assert await relay.publish_pending() == 3  # after the producer's metadata wait (its request timeout)
    assert (row(db, "u-1").park_reason, row(db, "v-1").park_reason) == ("unknown_topic", "invalid_topic")
    assert values(await records_on(kafka_bootstrap, topic)) == [b"b-1"]
    await create_topic(kafka_bootstrap, later)
    with Session(db) as session:
        assert resend(session, KitOutbox, [row(db, "u-1").id or 0]) == [row(db, "u-1").id]
    assert await relay.publish_pending() == 1
    assert values(await records_on(kafka_bootstrap, later)) == [b"u-1"]
    assert row(db, "v-1").published_at is None
