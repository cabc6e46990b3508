"""A pipelined relay (SQLite's one worker) publishes a batch while the batch before is marked, and still sends
each row once, a key's rows in order, nothing behind a row it is parking, and no row again after a stop (a
fake broker and a mark held back by the test; the lock's case, PostgreSQL, is in test_several_workers.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence

import pytest
from kit_tables import KitOutbox
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from test_outbox_relay import NOW, FlakyBroker, fill

from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import OutboxRelay, add_record, count_pending


def relay_of(engine: Engine, broker: FlakyBroker, batch_size: int = 1) -> OutboxRelay:
    return OutboxRelay(engine, KitOutbox, broker, KitMetrics("kit"), batch_size=batch_size, clock=lambda: NOW,
                       idle_seconds=30, pipelined=True)


def hold_marks(relay: OutboxRelay) -> threading.Event:
    """Each of the relay's marks waits (in its thread) until the event returned is set."""
    gate, mark = threading.Event(), relay._mark

    def held(done: Sequence[int], parked: Mapping[int, str]) -> tuple[int, int]:
        assert gate.wait(10), "the test never let the mark go"
        return mark(done, parked)

    relay._mark = held  # type: ignore[method-assign]
    return gate


def pending_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return count_pending(session, KitOutbox)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):  # a guard against a hang, not a speed assertion
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_next_batch_is_published_while_the_last_is_marked_and_each_row_once(engine: Engine) -> None:
    fill(engine, [b"a", b"b", b"c"])
    broker = FlakyBroker()
    relay = relay_of(engine, broker)
    gate = hold_marks(relay)
    assert await relay.publish_pending() == 1  # "a" published, its mark held
    second = asyncio.create_task(relay.publish_pending())
    await until(lambda: broker.sent == [b"a", b"b"])  # "b" went while "a" was still being marked
    assert pending_rows(engine) == 3 and not second.done()  # nothing marked yet; "b" waits to be marked after "a"
    gate.set()
    assert await second == 1
    assert await relay.publish_pending() == 1
    assert await relay.publish_pending() == 0  # nothing left: "a" and "b" were not read again
    await until(lambda: pending_rows(engine) == 0)
    assert broker.sent == [b"a", b"b", b"c"]


async def test_nothing_behind_a_row_being_parked_is_published_meanwhile(engine: Engine) -> None:
    fill(engine, [b"poison", b"first"], keys=["a", "b"])
    broker = FlakyBroker()
    relay = relay_of(engine, broker, batch_size=10)
    gate = hold_marks(relay)
    assert await relay.publish_pending() == 2  # "poison" refused (parked once its mark goes through), "first" sent
    with Session(engine) as session:  # written while that mark waits
        add_record(session, KitOutbox, "t.v1", "a", b"after", "id-after", NOW)
        add_record(session, KitOutbox, "t.v1", "b", b"other", "id-other", NOW)
        session.commit()
    second = asyncio.create_task(relay.publish_pending())
    await until(lambda: broker.sent == [b"first", b"other"])  # key "b" goes on; "after" (key "a") does not
    gate.set()
    assert await second == 1
    assert await relay.publish_pending() == 0  # "after" waits behind the parked row
    assert broker.sent == [b"first", b"other"]
    await until(lambda: pending_rows(engine) == 1)


async def test_a_stop_lets_the_last_mark_end_so_the_next_relay_does_not_send_its_rows_again(
        engine: Engine) -> None:
    fill(engine, [b"a"])
    broker = FlakyBroker()
    relay = relay_of(engine, broker, batch_size=10)  # not full: the relay is idle while "a" is marked
    gate = hold_marks(relay)
    task = asyncio.create_task(relay.run())
    await until(lambda: broker.sent == [b"a"])
    task.cancel()
    threading.Timer(0.3, gate.set).start()  # the mark ends a little after the stop was asked for
    done, _ = await asyncio.wait([task], timeout=10)
    assert done == {task} and task.cancelled()
    assert pending_rows(engine) == 0  # marked before the relay stopped
    follower = FlakyBroker()
    assert await relay_of(engine, follower).publish_pending() == 0
    assert follower.sent == []


async def test_a_mark_that_fails_is_raised_and_its_rows_are_published_again(engine: Engine) -> None:
    fill(engine, [b"a"])
    broker = FlakyBroker()
    relay = relay_of(engine, broker)
    mark, failed = relay._mark, list[bool]()

    def fails_once(done: Sequence[int], parked: Mapping[int, str]) -> tuple[int, int]:
        if not failed:
            failed.append(True)
            raise OperationalError("UPDATE", {}, Exception("database gone"))
        return mark(done, parked)

    relay._mark = fails_once  # type: ignore[method-assign]
    assert await relay.publish_pending() == 1
    await until(lambda: relay._marking is not None and relay._marking.task.done())
    with pytest.raises(OperationalError):  # the relay pauses, as for any database failure
        await relay.publish_pending()
    assert await relay.publish_pending() == 1  # sent again: at least once, never lost
    await until(lambda: pending_rows(engine) == 0)
    assert broker.sent == [b"a", b"a"]


async def test_a_mark_that_fails_while_the_next_batch_is_published_sends_only_its_own_rows_again(
        engine: Engine) -> None:
    """The batch before's mark fails once the next batch is out: that batch's rows are marked all the same;
    only the failed mark's rows go again."""
    fill(engine, [b"a", b"b", b"c"], keys=["a", "b", "c"])
    broker = FlakyBroker()
    relay = relay_of(engine, broker)
    gate, mark, failed = threading.Event(), relay._mark, list[bool]()

    def first_fails(done: Sequence[int], parked: Mapping[int, str]) -> tuple[int, int]:
        if not failed:
            failed.append(True)
            assert gate.wait(10)
            raise OperationalError("UPDATE", {}, Exception("database gone"))
        return mark(done, parked)

    relay._mark = first_fails  # type: ignore[method-assign]
    assert await relay.publish_pending() == 1  # "a", its mark held, to fail
    second = asyncio.create_task(relay.publish_pending())
    await until(lambda: broker.sent == [b"a", b"b"])
    gate.set()
    with pytest.raises(OperationalError):
        await second
    while await relay.publish_pending():
        pass
    await until(lambda: pending_rows(engine) == 0)
    assert sorted(broker.sent) == [b"a", b"a", b"b", b"c"]  # "a" twice (its mark failed), "b" and "c" once


async def test_rows_left_out_behind_a_row_being_parked_do_not_stop_the_relay_going_on(engine: Engine) -> None:
    """A batch made short by the rows it left out (behind a row being parked) is not the end of the outbox:
    the relay goes on at once, not at its next idle wake-up (30 s here)."""
    fill(engine, [b"poison", b"x", b"after", b"y", b"z"], keys=["a", "b", "a", "b", "b"])
    broker = FlakyBroker()
    relay = relay_of(engine, broker, batch_size=2)
    gate = hold_marks(relay)
    task = asyncio.create_task(relay.run())
    try:  # the second batch reads four rows (two being marked), leaves out "after", sends "y" and not "z"
        await until(lambda: broker.sent == [b"x", b"y"])
        gate.set()
        await until(lambda: broker.sent == [b"x", b"y", b"z"])
    finally:
        gate.set()
        task.cancel()
        await asyncio.wait([task], timeout=10)
