"""The outbox relay marks published only what the broker acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from kit_tables import KitOutbox
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.kafka import BrokerUnavailable, OutboundRecord
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import OutboxRelay, add_record, count_pending

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FlakyBroker:
    """Acknowledges every record whose value is not b"lost"."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def ready(self) -> bool:
        return True

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
                      ) -> None:
        raise NotImplementedError

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[bool]:
        self.sent += [r.value for r in records]
        return [r.value != b"lost" for r in records]


def fill(engine: Engine, values: list[bytes]) -> None:
    with Session(engine) as session:
        for i, value in enumerate(values):
            add_record(session, KitOutbox, "t.v1", "k", value, f"id-{i}", NOW, [("content-type", b"x")])
        session.commit()


async def test_only_acknowledged_rows_are_marked_and_the_rest_are_sent_again(engine: Engine) -> None:
    fill(engine, [b"one", b"lost", b"three"])
    broker = FlakyBroker()
    relay = OutboxRelay(engine, KitOutbox, broker, KitMetrics("kit"), batch_size=10, clock=lambda: NOW)
    with pytest.raises(BrokerUnavailable):
        await relay.publish_pending()
    with Session(engine) as session:
        assert count_pending(session, KitOutbox) == 1
    broker.sent.clear()
    with pytest.raises(BrokerUnavailable):
        await relay.publish_pending()
    assert broker.sent == [b"lost"]  # never "one" or "three" again


async def test_batches_are_configurable_and_in_order(engine: Engine) -> None:
    fill(engine, [b"a", b"b", b"c"])
    broker = FlakyBroker()
    relay = OutboxRelay(engine, KitOutbox, broker, KitMetrics("kit"), batch_size=2, clock=lambda: NOW)
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 1
    assert broker.sent == [b"a", b"b", b"c"]


async def test_a_stop_that_arrives_with_a_wake_up_stops_the_relay(engine: Engine) -> None:
    """Told to stop in the same instant it is woken (a commit as the service shuts down): it stops.
    Python 3.11's wait_for swallowed such a cancel and the relay ran on."""
    relay = OutboxRelay(engine, KitOutbox, FlakyBroker(), KitMetrics("kit"), clock=lambda: NOW, idle_seconds=30)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.3)  # idle: nothing to publish, waiting up to 30 s
    relay.wake()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task} and task.cancelled()
