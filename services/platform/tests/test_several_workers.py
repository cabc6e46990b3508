"""The kit under several workers of one service on PostgreSQL: two relays on one outbox publish each row
once and each key in order; a record two workers apply at once (a partition moved mid-batch) is neither
dead-lettered for the other's row nor dead-lettered twice; a deadlock between two workers' batches is applied
again in place (the privacy answer is written the same once-only way as the dead letter)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from kit_tables import KitOutbox, KitTable, Note
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from test_batch_consumer import decode, record

from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.consumer_faults import again_on_conflict
from frontdoor_platform.database import HeldLock, build_engine
from frontdoor_platform.kafka import OutboundRecord, Verdict
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import OutboxRelay, add_record, count_pending
from frontdoor_platform.outbox_table import add_record_once
from frontdoor_platform.poison import transient_conflict
from frontdoor_platform.routes import Consumed, Incoming, Route, Routes, add_dead_letter

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def pg(postgres_server: Any) -> Iterator[Engine]:
    url = postgres_server if isinstance(postgres_server, str) else postgres_server.create_database(
        "kit_" + uuid.uuid4().hex[:12])
    built = build_engine(url)
    KitTable.metadata.create_all(built)
    yield built
    built.dispose()


class SlowBroker:
    """Takes every record, a little slowly (so two relays' batches overlap), and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str | None, bytes | None]] = []

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
        await asyncio.sleep(0.02)
        self.sent.extend((r.key, r.value) for r in records)
        return [True] * len(records)


async def test_two_relays_on_one_outbox_publish_each_row_once_and_each_key_in_order(pg: Engine) -> None:
    with Session(pg) as session:
        for i in range(600):
            add_record(session, KitOutbox, "t.v1", f"k{i % 7}", str(i).encode(), f"id-{i}", NOW)
        session.commit()
    broker = SlowBroker()
    relays = [OutboxRelay(pg, KitOutbox, broker, KitMetrics("kit"), batch_size=40, clock=lambda: NOW,
                          pipelined=True) for _ in range(2)]  # as the services make them: no pipelining here
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        async with asyncio.timeout(60):  # a guard against a hang, not a speed assertion
            while await asyncio.to_thread(_pending, pg):
                for relay in relays:
                    relay.wake()
                await asyncio.sleep(0.01)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    values = [int(value or b"") for _, value in broker.sent]
    assert sorted(values) == list(range(600))  # each row once: none twice
    for key in {key for key, _ in broker.sent}:
        mine = [int(value or b"") for k, value in broker.sent if k == key]
        assert mine == sorted(mine)  # each key in the order it was written


async def test_a_relay_that_takes_the_lock_marks_its_batch_before_letting_it_go(pg: Engine) -> None:
    """Asked to pipeline (publish a batch while the one before is marked), a relay on PostgreSQL does not:
    the next relay to take the lock could read rows still being marked and publish them again."""
    with Session(pg) as session:
        add_record(session, KitOutbox, "t.v1", "k", b"1", "id-1", NOW)
        session.commit()
    relay = OutboxRelay(pg, KitOutbox, SlowBroker(), KitMetrics("kit"), clock=lambda: NOW, pipelined=True)
    assert await relay.publish_pending() == 1
    assert relay._marking is None and _pending(pg) == 0  # marked before it returned


def _pending(engine: Engine) -> int:
    with Session(engine) as session:
        return count_pending(session, KitOutbox)


def _waiting_on_a_lock(engine: Engine) -> None:
    """Until another connection waits on a row lock (the racing insert has met the first one's row)."""
    for _ in range(600):
        with engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                                  ).scalar():
                return
        threading.Event().wait(0.05)
    raise AssertionError("the second worker never waited on the first one's row")


def _in_background(work: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_dead_letter_written_by_two_workers_at_once_is_written_once_and_neither_fails(pg: Engine) -> None:
    poison = Incoming("notes.v1", 3, 41, b"k", b"\xffnot json")
    error = InvalidEvent("not_json", [FieldError("", "json_invalid", "not JSON")])
    first = Session(pg)
    assert add_dead_letter(first, KitOutbox, poison, error, NOW)

    def second() -> bool:
        with Session(pg) as session:
            added = add_dead_letter(session, KitOutbox, poison, error, NOW)
            session.commit()
            return added

    thread, out = _in_background(second)
    _waiting_on_a_lock(pg)
    first.commit()
    first.close()
    thread.join()
    assert out == [False]  # it waited for the first and wrote nothing: no conflict, no second dead letter
    with Session(pg) as session:
        assert len(session.exec(select(KitOutbox)).all()) == 1


def test_a_record_whose_row_another_worker_commits_meanwhile_is_applied_not_dead_lettered(pg: Engine) -> None:
    """A poison record makes the batch run carefully; the good record's insert meets another worker's row
    (the same record applied there: a partition moved), waits, and meets the conflict once that commits.
    Run once more it sees the row and is applied: before, it was dead-lettered as an integrity conflict."""

    def apply(session: Session, note: dict[str, str], where: Consumed) -> str:
        if note["text"] == "refuse":
            raise InvalidEvent("invalid_data", [FieldError("text", "refused", "this text is refused")])
        if session.get(Note, note["id"]) is None:
            session.add(Note(event_id=note["id"], text=note["text"]))
            session.flush()
        return note["id"]

    kit = BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", engine=pg, outbox=KitOutbox,
                        routes=Routes().add("notes.v1", Route(decode=decode, apply=apply)),
                        metrics=KitMetrics("kit"), clock=lambda: NOW)
    other = Session(pg)
    other.add(Note(event_id="b", text="hello"))
    other.flush()
    thread, out = _in_background(lambda: kit.apply_batch([record(0, b'{"id": "a", "text": "refuse"}'),
                                                          record(1, b'{"id": "b", "text": "hello"}')]))
    _waiting_on_a_lock(pg)
    other.commit()
    other.close()
    thread.join()
    [result] = out
    assert [reason for _, reason in result.dead_lettered] == ["invalid_data"]  # the refused record alone
    assert [outcome for _, outcome in result.handled] == ["b"]


def test_a_deadlock_between_two_workers_batches_is_applied_again_in_place(pg: Engine) -> None:
    with Session(pg) as session:
        session.add(Note(event_id="x", text="0"))
        session.add(Note(event_id="y", text="0"))
        session.commit()
    barrier = threading.Barrier(2)
    attempts: list[str] = []

    def batch(first: str, second: str) -> str:
        def once() -> str:
            attempts.append(first)
            with Session(pg) as session:
                session.execute(text("UPDATE notes SET text = text || '+' WHERE event_id = :id"), {"id": first})
                if len(attempts) <= 2:
                    barrier.wait(timeout=30)  # both hold their first row: the second rows deadlock
                session.execute(text("UPDATE notes SET text = text || '+' WHERE event_id = :id"), {"id": second})
                session.commit()
            return first
        return again_on_conflict(once, 2)

    threads = [_in_background(lambda: batch("x", "y")), _in_background(lambda: batch("y", "x"))]
    for thread, _ in threads:
        thread.join()
    assert sorted(out[0] for _, out in threads) == ["x", "y"]  # both batches applied, neither raised
    assert len(attempts) == 3  # PostgreSQL chose one of the two to roll back; it was applied again
    with Session(pg) as session:
        assert {n.event_id: n.text for n in session.exec(select(Note)).all()} == {"x": "0++", "y": "0++"}


def test_a_batch_the_database_rolls_back_as_a_deadlock_is_applied_again_and_counted(pg: Engine) -> None:
    """The consumer's own batch: PostgreSQL answers its first run with deadlock_detected (40P01); the batch
    is applied again in place, once, and `batch_conflict_retries_total` moves by one."""
    runs: list[str] = []

    def apply(session: Session, note: dict[str, str], where: Consumed) -> str:
        runs.append(note["id"])
        if len(runs) == 1:
            session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$"))
        session.add(Note(event_id=note["id"], text=note["text"]))
        return note["id"]

    metrics = KitMetrics("kit")
    kit = BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", engine=pg, outbox=KitOutbox,
                        routes=Routes().add("notes.v1", Route(decode=decode, apply=apply)), metrics=metrics,
                        clock=lambda: NOW)
    retried = "frontdoor_kit_batch_conflict_retries_total"
    assert metrics.registry.get_sample_value(retried) == 0
    result = kit.apply_batch([record(0, b'{"id": "a", "text": "hello"}')])
    assert [outcome for _, outcome in result.handled] == ["a"] and not result.dead_lettered
    assert runs == ["a", "a"]
    assert metrics.registry.get_sample_value(retried) == 1
    with Session(pg) as session:
        assert [n.event_id for n in session.exec(select(Note)).all()] == ["a"]


def test_a_deadlock_is_a_transient_conflict_and_other_faults_are_not(pg: Engine) -> None:
    with Session(pg) as session:
        with pytest.raises(Exception) as raised:
            session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$"))
        assert transient_conflict(raised.value)
    with Session(pg) as session:
        with pytest.raises(Exception) as raised:
            session.execute(text("SELECT 1 / 0"))
        assert not transient_conflict(raised.value)


def test_an_outbox_row_added_once_keeps_its_place_after_the_rows_added_before_it(pg: Engine) -> None:
    with Session(pg) as session:
        add_record(session, KitOutbox, "t.v1", "k", b"first", "e1", NOW)
        assert add_record_once(session, KitOutbox, "t.v1", "k", b"second", "e2", NOW)
        assert not add_record_once(session, KitOutbox, "t.v1", "k", b"again", "e2", NOW)
        session.commit()
        rows = session.exec(select(KitOutbox).order_by(col(KitOutbox.id))).all()
    assert [row.payload for row in rows] == [b"first", b"second"]


def test_one_holder_of_a_held_lock_among_workers_and_the_next_takes_it_when_the_holder_goes(pg: Engine) -> None:
    first, second = HeldLock(pg, "stream:g"), HeldLock(pg, "stream:g")
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()  # a standby
    first.release()
    assert second.try_acquire()  # the holder stopped: the standby runs
    assert not first.try_acquire()
    assert second._connection is not None
    second._connection.invalidate()  # its connection gone (a killed worker's): the lock with it
    assert not second.still_held()
    # PostgreSQL frees the lock once the old backend has ended, which may take a moment after the close
    deadline = time.monotonic() + 30.0
    while not first.try_acquire():
        assert time.monotonic() < deadline, "the lock of a closed connection was never freed"
        time.sleep(0.05)
    first.release()
    assert HeldLock(pg, "another").try_acquire()  # one lock per name
