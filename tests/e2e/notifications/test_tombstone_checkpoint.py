"""A person's key tombstone, applied by the kit's BatchConsumer as `consume`
runs it (a real broker, the service's own routes on topics of this test's
own, a SQLite file), leaves none of the child's name in the database's
files at once: the person-key route says the batch erased (`Route.erased`),
so the consumer checkpoints and truncates the write-ahead log before it
commits the offsets. Read while the consumer and its pooled connections are
still running (the service has not stopped: its own checkpoint at shutdown
does not come into it)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from notifications_e2e_kit import caught_up
from person_keys_world import DA, KEYS, World

from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import build_engine
from frontdoor_platform.routes import Routes
from notifications import subscriptions
from notifications.migrations import migrate
from notifications.models import NotificationRow, OutboxEvent

pytestmark = pytest.mark.e2e
NAME = "Zebediah-Quillfeather"
GUARD_SECONDS = 120  # a hang guard only


def files(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def until(done: Callable[[], bool]) -> None:
    async with asyncio.timeout(GUARD_SECONDS):
        while not await asyncio.to_thread(done):
            await asyncio.sleep(0.1)


async def test_a_tombstone_leaves_no_byte_of_the_childs_name_in_the_db_or_its_wal(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    path = tmp_path / "notifications.db"
    engine = build_engine(f"sqlite:///{path}")
    migrate(engine)
    world = World(engine)
    amelia = world.child(NAME, family_name="Testerton")
    suffix = uuid.uuid4().hex[:10]
    keys_topic, da_topic = f"test.checkpoint.keys.{suffix}", f"test.checkpoint.da.{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(keys_topic, 1, 1), NewTopic(da_topic, 1, 1)])
    finally:
        await admin.close()
    service = subscriptions.routes(world.rules, world.metrics, lambda: None).by_topic
    routes = Routes().add(keys_topic, service[KEYS]).add(da_topic, service[DA])
    group = f"notifications-checkpoint-{suffix}"
    consumer = BatchConsumer(bootstrap=kafka_bootstrap, group=group, client_id="checkpoint", routes=routes,
                             engine=engine, outbox=OutboxEvent, metrics=world.metrics)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    running = asyncio.create_task(consumer.run())
    try:
        key, incident = world.key(amelia), world.incident(amelia)
        await producer.send_and_wait(keys_topic, key.value, key=key.key)
        await producer.send_and_wait(da_topic, incident.value, key=incident.key)
        await until(lambda: [n.given_name for n in world.rows(NotificationRow)] == [NAME])
        assert NAME.encode() in files(path)  # the name is in the files before (the WAL, at least)

        await producer.send_and_wait(keys_topic, None, key=key.key)  # the tombstone
        assert await caught_up(kafka_bootstrap, group, keys_topic)  # committed: the batch's checkpoint ran before
        [note] = world.rows(NotificationRow)
        assert note.given_name is None and note.erased_at is not None
        assert NAME.encode() not in files(path)
        assert b"Testerton" not in files(path)
        assert world.metrics.registry.get_sample_value("frontdoor_notifications_consumer_restarts_total") == 0
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await producer.stop()
        engine.dispose()
