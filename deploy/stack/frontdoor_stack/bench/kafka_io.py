"""Kafka plumbing the bench shares: its own topics, pre-loading records,
reading an output topic into a tally (distinct CloudEvents ids, duplicates,
first and last record time) with a bound in count and time, and moving a
stopped consumer group past a backlog."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.structs import OffsetAndMetadata

from frontdoor_contracts.topics import TopicSpec, all_topics

from ..topics import ensure_topics

CLOUDEVENTS_HEADER = ("content-type", b"application/cloudevents+json")
PARTITIONS = 3  # as the platform's own topics


def now_ms() -> int:
    return int(time.time() * 1000)  # the clock Kafka record timestamps use


def bench_topic(name: str, partitions: int = PARTITIONS) -> TopicSpec:
    return TopicSpec(name=name, event=None, key="bench", producers=("bench",), consumers=("bench",),
                     partitions=partitions, description="benchmark scratch topic")


async def create_topics(bootstrap: str, names: Iterable[str]) -> None:
    await ensure_topics(bootstrap, [bench_topic(name) for name in names])


async def preload(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]],
                  on_progress: Callable[[int], None] | None = None) -> int:
    """Publish (key, value) records, acks=all and idempotent, without
    awaiting them one by one; returns how many the broker acknowledged."""
    return await preload_records(bootstrap, ((topic, key, value) for key, value in records), on_progress)


async def preload_records(bootstrap: str, records: Iterable[tuple[str, bytes, bytes]],
                          on_progress: Callable[[int], None] | None = None) -> int:
    """`preload` of (topic, key, value) records, to any number of topics."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=20, max_batch_size=256 * 1024, client_id="bench-preload")
    await producer.start()
    sent = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for topic, key, value in records:
            pending.append(await producer.send(topic, value, key=key, headers=[CLOUDEVENTS_HEADER]))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending = []
                if on_progress:
                    on_progress(sent)
        await asyncio.gather(*pending)
        sent += len(pending)
        if on_progress:
            on_progress(sent)
    finally:
        await producer.stop()
    return sent


@dataclass
class Tally:
    """What arrived on an output topic, counted by CloudEvents `id`."""

    records: int = 0
    duplicates: int = 0  # records whose id was seen before
    ids: set[str] = field(default_factory=set)
    keys: dict[str, int] = field(default_factory=dict)  # a second identity (e.g. contact_id) -> records
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def distinct(self) -> int:
        return len(self.ids)

    def add(self, event_id: str, timestamp_ms: int, key: str | None = None) -> None:
        self.records += 1
        if event_id in self.ids:
            self.duplicates += 1
        else:
            self.ids.add(event_id)
        if key is not None:
            self.keys[key] = self.keys.get(key, 0) + 1
        self.first_ms = timestamp_ms if self.first_ms is None else min(self.first_ms, timestamp_ms)
        self.last_ms = timestamp_ms if self.last_ms is None else max(self.last_ms, timestamp_ms)

    @property
    def span_seconds(self) -> float:
        if self.first_ms is None or self.last_ms is None:
            return 0.0
        return (self.last_ms - self.first_ms) / 1000.0

    def rate(self) -> float:
        """Distinct events per second, first to last output record (record timestamps)."""
        span = self.span_seconds
        return (self.distinct - 1) / span if span > 0 and self.distinct > 1 else 0.0


Select = Callable[[dict[str, Any]], str | None]  # the parsed event -> its second identity, or None to skip it


async def collect(
    bootstrap: str,
    topic: str,
    expected: int,
    time_cap: float,
    select: Select | None = None,
    on_progress: Callable[[Tally], None] | None = None,
    still_running: Callable[[], bool] | None = None,
    settle: float = 2.0,
    partitions: int = PARTITIONS,
    done: Callable[[Tally], bool] | None = None,
) -> tuple[Tally, bool]:
    """Read `topic` from the beginning until `expected` distinct events
    arrived (or `done(tally)` says so), then `settle` seconds more to catch
    late duplicates; or until the time cap passed or the producing process
    died. Returns (tally, complete)."""
    complete = done or (lambda t: t.distinct >= expected)
    tally = Tally()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", client_id="bench-collector")
    await consumer.start()
    started = time.monotonic()
    deadline = started + time_cap
    complete_at: float | None = None
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        while time.monotonic() < deadline:
            if complete_at is not None and time.monotonic() >= complete_at + settle:
                break
            batches = await consumer.getmany(timeout_ms=250, max_records=5000)
            for records in batches.values():
                for record in records:
                    _count(tally, record.value, record.timestamp, select)
            if on_progress:
                on_progress(tally)
            if complete_at is None and complete(tally):
                complete_at = time.monotonic()
            if complete_at is None and not batches and still_running is not None and not still_running():
                break  # nothing more is coming
    finally:
        await consumer.stop()
    return tally, complete(tally)


def _count(tally: Tally, value: bytes | None, timestamp_ms: int, select: Select | None) -> None:
    try:
        event = json.loads(value or b"")
        event_id = str(event["id"])
    except (ValueError, KeyError, TypeError):
        return
    key = None
    if select is not None:
        key = select(event)
        if key is None:
            return
    tally.add(event_id, timestamp_ms, key)


async def move_group_to_end(bootstrap: str, group: str, topics: Iterable[str], timeout: float = 30.0) -> None:
    """Commit the end offsets for a consumer group that has no live member
    (or none yet), so its next start skips what an earlier phase left."""
    declared = {spec.name: spec.partitions for spec in all_topics()}
    tps = [TopicPartition(topic, p) for topic in topics for p in range(declared.get(topic, PARTITIONS))]
    deadline = time.monotonic() + timeout
    while True:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                    client_id="bench-offsets")
        await consumer.start()
        try:
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
            return
        except Exception:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(1.0)  # the stopped member may still be leaving the group
        finally:
            await consumer.stop()


async def truncate(bootstrap: str, topics: Iterable[str]) -> int:
    """Delete every record now on `topics` (each partition's log start moves
    to its end), so a reader from the first offsets sees only what comes
    next; how many records there were."""
    declared = {spec.name: spec.partitions for spec in all_topics()}
    tps = [TopicPartition(topic, p) for topic in topics for p in range(declared.get(topic, PARTITIONS))]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="bench-truncate")
    await consumer.start()
    try:
        starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    todo = {tp: RecordsToDelete(end) for tp, end in ends.items() if end > starts[tp]}
    if todo:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-truncate")
        await admin.start()
        try:
            await admin.delete_records(todo, timeout_ms=30_000)
        finally:
            await admin.close()
    return sum(ends[tp] - starts[tp] for tp in tps)


@dataclass(frozen=True)
class FlowResult:
    """One Kafka-to-Kafka flow: N in, what came out, how fast."""

    expected: int
    arrived: int  # distinct expected items seen on the output
    records: int  # output records counted
    duplicates: int  # output records for an item (event id or second identity) seen before
    lost: int  # expected items not seen (all of them "not yet" when the time cap ended the wait)
    per_second: float  # first to last output record
    span_seconds: float
    complete: bool  # every expected item arrived before the time cap
    time_cap: float
    # Distinct events over the time from the service answering /healthz to the
    # last output record: counts the first batch and the group join too.
    per_second_since_ready: float | None = None

    @classmethod
    def of(cls, tally: Tally, expected: set[str], time_cap: float, ready_ms: int | None = None) -> FlowResult:
        seen = expected & tally.keys.keys()
        by_key = sum(count - 1 for count in tally.keys.values())
        since = None
        if ready_ms is not None and tally.last_ms is not None and tally.last_ms > ready_ms:
            since = tally.distinct / ((tally.last_ms - ready_ms) / 1000.0)
        return cls(expected=len(expected), arrived=len(seen), records=tally.records,
                   duplicates=max(tally.duplicates, by_key), lost=len(expected) - len(seen),
                   per_second=tally.rate(), span_seconds=tally.span_seconds, complete=len(seen) == len(expected),
                   time_cap=time_cap, per_second_since_ready=since)
