"""Several allocation workers in one consumer group, on the real broker and PostgreSQL, in this process.

A `Worker` is what one `consume` process runs: the kit's BatchConsumer with the service's routes, its own
engine (its own connections) and its own event loop (a thread of its own). Every record a worker applies is
written down (`Applied`: which worker, topic, partition, offset, what it did), and a `Hold` can stop a
worker's first apply, inside its batch's transaction, until the test lets it go: the batch it fetched is
still in flight while the group rebalances (test-only wrappers around the routes' `apply`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from allocation_e2e_kit import group_at_the_end
from allocation_race_kit import merge_record, trigger_record
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from allocation import store, subscriptions
from allocation.app import rules_from
from allocation.metrics import Metrics
from allocation.models import CaseRow, OutboxEvent, TimelineEntry
from allocation.settings import Settings
from frontdoor_contracts import retention
from frontdoor_contracts.topics import all_topics
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import build_engine
from frontdoor_platform.routes import Consumed, Routes
from frontdoor_stack.coroutines import run_coroutine_in_thread

DEADLINE_SECONDS = 240.0  # a stall detector, not a speed limit: every wait ends on what it waits for
TRIGGER_TOPICS = ("contacts.decided.v1", "frontdoor.step-downs.v1", "outcomes.family-identified.v1",
                  "contacts.families-merged.v1")
Entry = tuple[str, bytes, bytes, str]  # topic, key, value, event id


class Hold:
    """Each named worker's first apply waits here (inside its transaction) until `release`."""

    def __init__(self, workers: Sequence[str]):
        self._armed, self.waiting = set(workers), set[str]()
        self._changed = threading.Condition()
        self._released = threading.Event()

    def wait_here(self, worker: str) -> None:
        with self._changed:
            if worker not in self._armed:
                return
            self._armed.discard(worker)
            self.waiting.add(worker)
            self._changed.notify_all()
        if not self._released.wait(DEADLINE_SECONDS):
            raise AssertionError(f"{worker} was held and never released")

    def release(self) -> None:
        self._released.set()


@dataclass
class Applied:
    """Every record applied, by whom: (worker, topic, partition, offset, outcome)."""

    records: list[tuple[str, str, int, int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self, routes: Routes, worker: str, hold: Hold | None) -> Routes:
        recorded = Routes()
        for topic, route in routes.by_topic.items():
            recorded.add(topic, replace(route, apply=self._recording(route.apply, worker, hold)))
        return recorded

    def _recording(self, apply: Callable[..., Any], worker: str, hold: Hold | None) -> Callable[..., Any]:
        def recorded(session: Any, event: Any, where: Consumed) -> Any:
            if hold is not None:
                hold.wait_here(worker)
            result = apply(session, event, where)
            outcome = result[1].value if isinstance(result, tuple) else str(result)
            with self._lock:
                self.records.append((worker, where.topic, where.partition, where.offset, outcome))
            return result

        return recorded

    def read_by_more_than_one(self) -> int:
        """Records applied by two workers or more (a partition moved while its batch was in flight)."""
        with self._lock:
            by_record: dict[tuple[str, int, int], set[str]] = {}
            for worker, topic, partition, offset, _ in self.records:
                by_record.setdefault((topic, partition, offset), set()).add(worker)
        return sum(len(workers) > 1 for workers in by_record.values())

    def outcomes(self) -> dict[str, int]:
        with self._lock:
            counted: dict[str, int] = {}
            for *_, outcome in self.records:
                counted[outcome] = counted.get(outcome, 0) + 1
        return counted


class Worker:
    def __init__(self, name: str, bootstrap: str, group: str, database_url: str, applied: Applied,
                 hold: Hold | None = None):
        self.name = name
        self.engine = build_engine(database_url)
        routes = subscriptions.routes(rules_from(Settings(database_url=database_url)), Metrics(), retention.default())
        self.consumer = BatchConsumer(bootstrap=bootstrap, group=group, client_id=f"allocation-{name}",
                                      routes=applied.routes(routes, name, hold), engine=self.engine,
                                      outbox=OutboxEvent, metrics=Metrics(), batch_size=1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name=f"worker-{name}")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.consumer.run())
        self._started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def start(self) -> Worker:
        self._thread.start()
        self._started.wait(DEADLINE_SECONDS)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(DEADLINE_SECONDS)
        self.engine.dispose()


def new_group(bootstrap: str) -> str:
    """A consumer group of its own, starting at the end of every topic allocation reads."""
    group = f"allocation-workers-{uuid.uuid4().hex[:8]}"
    run_coroutine_in_thread(group_at_the_end(bootstrap, group))
    return group


async def _publish(bootstrap: str, entries: Sequence[Entry], partitions: Sequence[int | None]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=300,
                                max_batch_size=1024 * 1024)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key, partition=partition)
                for (topic, key, value, _), partition in zip(entries, partitions, strict=True)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def publish(bootstrap: str, entries: Sequence[Entry], partitions: Sequence[int | None] | None = None) -> None:
    """Each entry on the partition its key gives (or the one named)."""
    run_coroutine_in_thread(_publish(bootstrap, entries, partitions or [None] * len(entries)))


def primer() -> list[Entry]:
    """A decision on each partition of contacts.decided.v1 (three families of their own, no burst's): every
    worker of two or three has one to hold its first batch with."""
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    return [trigger_record("decided", uuid.uuid4(), at) for _ in range(3)]


async def _group(bootstrap: str, group: str) -> tuple[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = (await admin.describe_consumer_groups([group]))[0].groups[0]
    finally:
        await admin.close()
    return str(described[2]), len(described[5])  # (error, group, state, protocol type, protocol, members)


def group_state(bootstrap: str, group: str) -> tuple[str, int]:
    """The group's state (Stable, PreparingRebalance, ...) and how many members it has (`unknown` while the
    broker cannot say yet)."""
    try:
        return run_coroutine_in_thread(_group(bootstrap, group))
    except KafkaError:
        return "unknown", 0


async def _lag(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        partitions = [TopicPartition(spec.name, p) for spec in all_topics() if spec.name in TRIGGER_TOPICS
                      for p in range(spec.partitions)]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await consumer.stop()
        await admin.close()
    return sum(max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items())


def lag(bootstrap: str, group: str) -> int:
    """The records of the trigger and merge topics the group has not committed yet."""
    return run_coroutine_in_thread(_lag(bootstrap, group))


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.2)


@dataclass
class Burst:
    """Triggers for overlapping families over every partition, and merges of some pairs of them: what each
    family (the remaining family of a pair) must end with, one open case holding every trigger."""

    entries: list[Entry] = field(default_factory=list)
    triggers: dict[uuid.UUID, set[str]] = field(default_factory=dict)  # remaining family -> trigger event ids
    members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # remaining family -> its families


def burst(families: int, decisions: int, merged_pairs: int, seed: int) -> Burst:
    rng, made = Random(seed), Burst()
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(families)]
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    remaining = {family: family for family in ids}
    for kept, joined in zip(ids[0:2 * merged_pairs:2], ids[1:2 * merged_pairs:2], strict=True):
        remaining[joined] = kept
        made.entries.append(merge_record(kept, [joined], at + timedelta(hours=2)))
    for index, family in enumerate(ids):
        kinds = ["decided"] * decisions + ["step_down"] * (index % 3 == 0) + ["identified"] * (index % 4 == 0)
        for number, kind in enumerate(kinds):
            entry = trigger_record(kind, family, at + timedelta(minutes=index + number))
            made.entries.append(entry)
            made.triggers.setdefault(remaining[family], set()).add(entry[3])
        made.members.setdefault(remaining[family], set()).add(family)
    rng.shuffle(made.entries)
    return made


def check_cases(engine: Engine, expected: Burst) -> dict[str, int]:
    """Each remaining family: one open case, in that family, holding every trigger of its families; every
    other case of them merged into it; each case opened once (one case-opened event, one `opened` entry), each
    trigger in its case once (opened, attached or joined: counted on the timeline); no dead letter. Returns
    what was counted."""
    counted = {"cases": 0, "merged_cases": 0, "triggers": 0}
    with Session(engine) as session:
        dead = session.exec(select(OutboxEvent.event_id).where(col(OutboxEvent.topic).endswith(".dlq"))).all()
        assert dead == []
        for family, triggers in expected.triggers.items():
            rows = session.exec(select(CaseRow).where(col(CaseRow.family_id).in_(expected.members[family]))).all()
            open_rows = [row for row in rows if row.is_open]
            assert [row.family_id for row in open_rows] == [family], [(row.family_id == family, row.status)
                                                                      for row in rows]
            kept = store.load_case(open_rows[0].document)
            found = {t.event_id for t in kept.triggers}
            assert found == triggers, (len(found - triggers), len(triggers - found), [row.status for row in rows])
            for row in rows:
                case = store.load_case(row.document)
                assert row.is_open or case.merged_into == kept.case_id
                opened = session.exec(select(OutboxEvent.event_id).where(
                    OutboxEvent.key == str(case.case_id), OutboxEvent.topic == "allocation.case-opened.v1")).all()
                timeline = session.exec(select(TimelineEntry).where(TimelineEntry.case_id == case.case_id)).all()
                kinds = [entry.kind for entry in timeline]
                joined = sum(int(entry.detail["triggers"]) for entry in timeline if entry.kind == "case_joined")
                assert len(opened) == 1 and kinds.count("opened") == 1
                assert 1 + kinds.count("trigger_attached") + joined == len(case.triggers)
                counted["triggers"] += len(case.triggers) if row.is_open else 0
            counted["cases"] += len(rows)
            counted["merged_cases"] += len(rows) - 1
    return counted
