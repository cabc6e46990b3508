"""The outbox relay marks published only what the broker acknowledged, and
parks what it never can publish (a fake broker here: the real one is in
test_parking_relay.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from kit_tables import KitOutbox
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.kafka import BrokerUnavailable, OutboundRecord, Refused, Verdict
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import OutboxRelay, add_record, count_parked, count_pending, discard, resend

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FlakyBroker:
    """Acknowledges every record whose value is not b"lost"; refuses b"poison"
    and holds back the later records of its key, as the real publisher does."""

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

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        refused: set[str | None] = set()
        for r in records:
            if r.value == b"poison" or r.key in refused:
                refused.add(r.key)
                verdicts.append(Refused("refused:PolicyViolationError") if r.value == b"poison" else False)
                continue
            self.sent.append(r.value)
            verdicts.append(r.value != b"lost")
        return verdicts


def fill(engine: Engine, values: list[bytes], keys: list[str] | None = None) -> None:
    with Session(engine) as session:
        for i, value in enumerate(values):
            add_record(session, KitOutbox, "t.v1", keys[i] if keys else "k", value, f"id-{i}", NOW,
                       [("content-type", b"x")])
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


async def test_a_refused_row_is_parked_its_key_waits_and_other_keys_go_on(engine: Engine) -> None:
    fill(engine, [b"poison", b"other", b"after", b"more"], keys=["a", "b", "a", "b"])
    broker = FlakyBroker()
    metrics = KitMetrics("kit")
    relay = OutboxRelay(engine, KitOutbox, broker, metrics, batch_size=10, clock=lambda: NOW)
    assert await relay.publish_pending() == 3  # parked and two published; "after" waiting is no failure
    assert relay.healthy and broker.sent == [b"other", b"more"]
    assert await relay.publish_pending() == 0  # "after" stays behind the parked row
    with Session(engine) as session:
        rows = {r.payload: r for r in session.exec(select(KitOutbox)).all()}
        assert (rows[b"poison"].parked_at, rows[b"poison"].park_reason) == (NOW, "refused:PolicyViolationError")
        assert rows[b"after"].published_at is None and rows[b"after"].parked_at is None
        assert (count_pending(session, KitOutbox), count_parked(session, KitOutbox)) == (1, 1)
    sample = metrics.registry.get_sample_value
    assert sample("frontdoor_kit_outbox_parked_total", {"topic": "t.v1", "reason": "refused:PolicyViolationError"}) == 1
    assert (sample("frontdoor_kit_outbox_parked_rows"), sample("frontdoor_kit_outbox_pending")) == (1, 1)
    with Session(engine) as session:
        assert discard(session, KitOutbox, None, NOW) == [rows[b"poison"].id]
    assert await relay.publish_pending() == 1
    assert broker.sent == [b"other", b"more", b"after"]  # the discarded row never
    assert (sample("frontdoor_kit_outbox_parked_rows"), sample("frontdoor_kit_outbox_pending")) == (0, 0)


async def test_a_resent_row_is_tried_again_before_the_rows_behind_it(engine: Engine) -> None:
    fill(engine, [b"poison", b"after"], keys=["a", "a"])
    broker = FlakyBroker()
    relay = OutboxRelay(engine, KitOutbox, broker, KitMetrics("kit"), batch_size=10, clock=lambda: NOW)
    assert await relay.publish_pending() == 1 and broker.sent == []
    with Session(engine) as session:
        [parked] = session.exec(select(KitOutbox).where(KitOutbox.parked_at != None)).all()  # noqa: E711
        parked.payload = b"cured"
        session.add(parked)
        session.commit()
        assert resend(session, KitOutbox, [parked.id or 0]) == [parked.id]
        with pytest.raises(ValueError, match="not parked"):
            resend(session, KitOutbox, [parked.id or 0])  # once only: nothing changes
    assert await relay.publish_pending() == 2
    assert broker.sent == [b"cured", b"after"]


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


class SlowBroker(FlakyBroker):
    """Acknowledges after `delay` seconds (or never, with `delay=None`), as a broker does under load."""

    def __init__(self, delay: float | None) -> None:
        super().__init__()
        self.delay, self.asked = delay, asyncio.Event()

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[Verdict]:
        self.asked.set()
        await (asyncio.sleep(self.delay) if self.delay is not None else asyncio.Event().wait())
        return await super().publish_many(records)


async def test_a_stop_mid_batch_lets_the_batch_be_marked_so_the_next_relay_does_not_send_it_again(
        engine: Engine) -> None:
    """A rolling restart cancels the relay while the broker acknowledges: the batch settles (marked published)
    before the relay stops, so the worker that follows does not publish the same rows a second time."""
    fill(engine, [b"a", b"b"])
    broker = SlowBroker(delay=0.3)
    relay = OutboxRelay(engine, KitOutbox, broker, KitMetrics("kit"), clock=lambda: NOW, idle_seconds=30)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(broker.asked.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task} and task.cancelled()  # it still stops
    with Session(engine) as session:
        assert count_pending(session, KitOutbox) == 0
    follower = FlakyBroker()
    assert await OutboxRelay(engine, KitOutbox, follower, KitMetrics("kit"), clock=lambda: NOW).publish_pending() == 0
    assert follower.sent == []


async def test_a_stop_waits_for_a_batch_that_never_settles_only_so_long(engine: Engine,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker that never answers does not hold the stop: after the grace the batch is cancelled, unmarked
    (the next relay sends it: at least once)."""
    monkeypatch.setattr("frontdoor_platform.outbox.STOP_GRACE_SECONDS", 0.2)
    fill(engine, [b"a"])
    broker = SlowBroker(delay=None)
    relay = OutboxRelay(engine, KitOutbox, broker, KitMetrics("kit"), clock=lambda: NOW, idle_seconds=30)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(broker.asked.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task} and task.cancelled()
    with Session(engine) as session:
        assert count_pending(session, KitOutbox) == 1
