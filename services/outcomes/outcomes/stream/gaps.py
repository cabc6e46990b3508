"""Nothing read is skipped, whatever faust does.

After a worker was killed, faust-streaming 0.15.3 (with aiokafka 0.14) was
seen to resume an input partition past records it had never handed to the
agent, and to commit past them (tests/e2e/outcomes: a run of 19 records per
partition skipped after a restart). So the stream keeps its own offsets, in
SQL beside what the records changed (`StreamOffsetRow`), and checks every
record faust hands it against them:
- an offset below the next one applied is a replay: applied again, never
  dropped: the SQL side commits before the tables, so after a SIGKILL the
  changelog can lack what SQL already holds (a family never identified:
  tests/e2e/outcomes, 6 of 200 families once). The picture keeps the event
  ids it saw, facts are keyed by event id, an output is published only when
  its KPI fact row is new, a dead letter once, and a merge restores
  whichever table lost it (README, "Guarantees", for what order can change).
  Only a record that changes no table is dropped (`replayed`: a privacy
  request, whose answer or dead letter SQL holds with its offset: answered
  again, it would be answered twice once the outbox's row was purged);
- an offset above it is a gap: the missing records are read straight from
  the broker (a plain consumer, no group) and applied after the replays and
  before the rest, in offset order;
- a partition whose end is past the next offset applied while faust hands
  nothing for it is read the same way by the review timer (a skipped tail)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity
from frontdoor_platform.routes import Incoming

from ..models import StreamOffsetRow

TP = tuple[str, int]


def applied_offsets(engine: Engine) -> dict[TP, int]:
    with Session(engine) as session:
        return {(row.topic, row.partition): row.next_offset for row in session.exec(select(StreamOffsetRow)).all()}


def record_offsets(session: Session, records: Iterable[Incoming]) -> dict[TP, int]:
    """Advance the stored next offsets past `records` (in the caller's transaction); the new values."""
    highest: dict[TP, int] = {}
    for record in records:
        key = (record.topic, record.partition)
        highest[key] = max(highest.get(key, -1), record.offset + 1)
    for (topic, partition), next_offset in highest.items():
        row = session.get(StreamOffsetRow, (topic, partition))
        if row is None:
            session.add(StreamOffsetRow(topic=topic, partition=partition, next_offset=next_offset))
        elif next_offset > row.next_offset:
            row.next_offset = next_offset
            session.add(row)
    return highest


def plan(records: Sequence[Incoming], applied: dict[TP, int],
         replayed: Callable[[Incoming], bool] = lambda _: True) -> tuple[list[Incoming], dict[TP, tuple[int, int]]]:
    """The records to apply (replays kept, but those `replayed` says not to apply again: see the module's
    docstring) and the ranges missing before them, per partition."""
    fresh: list[Incoming] = []
    missing: dict[TP, tuple[int, int]] = {}
    expected = dict(applied)
    for record in records:
        key = (record.topic, record.partition)
        if key in expected and record.offset < expected[key]:
            if replayed(record):
                fresh.append(record)  # a replay: applied again, its effects on the tables may have been lost
            continue
        if key in expected and record.offset > expected[key] and key not in missing:
            missing[key] = (expected[key], record.offset)
        fresh.append(record)
        expected[key] = max(expected.get(key, 0), record.offset + 1)
    return fresh, missing


class BrokerReader:
    """Reads ranges of input partitions directly (no group, nothing committed)."""

    def __init__(self, bootstrap: str, security: KafkaSecurity = PLAINTEXT):
        self._bootstrap, self._security = bootstrap, security
        self._consumer: AIOKafkaConsumer | None = None

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None,
                                              enable_auto_commit=False, auto_offset_reset="earliest",
                                              **self._security.client_kwargs())
            await self._consumer.start()
        return self._consumer

    async def read(self, ranges: dict[TP, tuple[int, int]], timeout: float = 30.0) -> list[Incoming]:
        """Every record in [start, stop) of each partition (what retention kept), in offset order. Bounded in
        time whatever the client does; on any failure the consumer is dropped, the next call starts afresh."""
        if not ranges:
            return []
        try:
            return await asyncio.wait_for(self._read(ranges, timeout), timeout + 10.0)
        except BaseException:
            await self._drop()
            raise

    async def _read(self, ranges: dict[TP, tuple[int, int]], timeout: float) -> list[Incoming]:
        consumer = await self._started()
        partitions = {TopicPartition(t, p): bounds for (t, p), bounds in ranges.items()}
        consumer.assign(list(partitions))
        for tp, (start, _) in partitions.items():
            consumer.seek(tp, start)
        found: list[Incoming] = []
        remaining = dict(partitions)
        deadline = asyncio.get_running_loop().time() + timeout
        while remaining and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, got in batch.items():
                stop = partitions[tp][1]
                found += [Incoming(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                          for r in got if r.offset < stop]
                if got and got[-1].offset >= stop - 1:
                    remaining.pop(tp, None)
            for tp in list(remaining):
                if await consumer.position(tp) >= partitions[tp][1]:
                    remaining.pop(tp, None)
        if remaining:
            raise TimeoutError("the missing input records could not be read from the broker in time")
        return sorted(found, key=lambda r: (r.topic, r.partition, r.offset))

    async def ends(self, partitions: Iterable[TP], timeout: float = 30.0) -> dict[TP, int]:
        tps = [TopicPartition(t, p) for t, p in partitions]
        if not tps:
            return {}
        try:
            consumer = await asyncio.wait_for(self._started(), timeout)
            ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout)
        except BaseException:
            await self._drop()
            raise
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def _drop(self) -> None:
        """Forget the consumer after a failure (its state is not to be trusted), stopping it if it stops."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10.0)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
