"""The live stream: a faust app whose agent reads every input topic, keeps
each family's picture in a table (changelog `<id>-families-changelog`),
the merged-family aliases in another, and counts per calendar month and per
school term in a third; a timer reviews every family against today's date.
A second agent reads privacy requests (`privacy.requests.v1`, one partition)
through the same batch logic, so a request has the stream's guarantees too:
its offset kept in SQL beside its answer, answered once (stream/ledger.py),
dead-lettered when it is not a valid request.

faust is at-least-once: its changelog is flushed before offsets are
committed, so a crash replays records, never loses them. A batch is written
to SQL first (read model, outbox, views), then to the tables; a record
replayed below the stream's own SQL offset is applied again, never dropped
(stream/gaps.py), and its outputs are published once, by their KPI fact
rows (README, "Guarantees", for what replay order can still change). Kafka
transactions (faust's exactly_once) were tried with faust-streaming 0.15.3
and aiokafka 0.14: after a SIGKILL they re-emitted outputs already
committed, so they are off (README)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import faust
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.topics import PRIVACY_REQUESTS
from frontdoor_platform.clock import Clock
from frontdoor_platform.database import HeldLock, for_writing
from frontdoor_platform.http import in_thread
from frontdoor_platform.kafka_security import KafkaSecurity
from frontdoor_platform.outbox import OutboxRelay
from frontdoor_platform.poison import engine_answers, handler_failed, is_infrastructure
from frontdoor_platform.privacy import Responder
from frontdoor_platform.private_files import private_directory
from frontdoor_platform.routes import Incoming, dead_letter_id

from ..domain.days import day_of, month_of, term_of
from ..domain.thresholds import Thresholds
from ..metrics import Metrics
from ..settings import Settings
from . import gaps, ledger
from .processor import INPUT_TOPICS, OUTPUT_TOPICS, REQUESTS, Processor, Step

log = logging.getLogger("outcomes.stream")
BATCH = 500
BATCH_WITHIN_SECONDS = 0.2
PARTITIONS = 3  # the input topics' (contracts/topics.py): the tables are co-partitioned with them
HOLD_CHECK_SECONDS = 1.0  # how often the worker running the stream checks it still holds its lock


class FaustStream:
    """The kit's `Consuming`: runs the faust app in the worker's event loop."""

    def __init__(self, settings: Settings, engine: Engine, relay: OutboxRelay, metrics: Metrics, clock: Clock,
                 th: Thresholds, privacy: Responder | None = None):
        """`privacy`: the service's responder (the app's; without it, no privacy agent: the families alone)."""
        self.settings, self.engine, self.relay, self.metrics, self.clock, self.th = (
            settings, engine, relay, metrics, clock, th)
        self.privacy = privacy
        self.running = False
        # faust's consumer group is its app id: one group for both agents (its lag watched from outside)
        self.group = settings.stream_id
        self.topics = (*INPUT_TOPICS, *((PRIVACY_REQUESTS.name,) if privacy is not None else ()))
        self._lock = asyncio.Lock()
        security = KafkaSecurity.of(settings)
        self.reader = gaps.BrokerReader(settings.kafka_bootstrap, security)
        self.applied: dict[gaps.TP, int] = {}
        self._last_seen: dict[gaps.TP, float] = {}
        self.app = faust.App(
            settings.stream_id, broker=f"kafka://{settings.kafka_bootstrap}", store="memory://",
            broker_credentials=security.faust_credentials(),
            datadir=str(settings.stream_data_dir), web_enabled=False, topic_partitions=PARTITIONS,
            topic_replication_factor=settings.stream_replication_factor, consumer_auto_offset_reset="earliest",
            broker_session_timeout=settings.stream_session_timeout_seconds,
            broker_heartbeat_interval=max(1.0, settings.stream_session_timeout_seconds / 5),
            producer_acks=-1, stream_wait_empty=False, autodiscover=False)
        self.families = self.app.Table("families", default=None, partitions=PARTITIONS, use_partitioner=True)
        self.aliases = self.app.Table("family-aliases", default=None, partitions=PARTITIONS, use_partitioner=True)
        self.counts = self.app.Table("period-counts", default=int, partitions=PARTITIONS, use_partitioner=True)
        self.processor = Processor(self.families, self.aliases, th, settings.source_uri)
        topic = self.app.topic(*INPUT_TOPICS, key_type=bytes, value_type=bytes, key_serializer="raw",
                               value_serializer="raw", partitions=PARTITIONS)
        self.app.agent(topic, name="families")(self._agent)
        if privacy is not None:
            requests = self.app.topic(PRIVACY_REQUESTS.name, key_type=bytes, value_type=bytes, key_serializer="raw",
                                      value_serializer="raw", partitions=PRIVACY_REQUESTS.partitions)
            self.app.agent(requests, name="privacy")(self._agent)
        self.app.timer(settings.review_seconds, on_leader=False, name="review")(self._review)

    async def run(self) -> None:
        """One worker of the service runs the stream at a time (`HeldLock`, PostgreSQL): the families' pictures,
        aliases and counts are tables keyed by family, while the input topics are keyed by contact or case, so
        partitions split between two workers would split a family's picture between them. The others stand
        by (ready) and the first to take the lock after the holder stops (or is killed: its connection closes)
        runs it from the offsets in SQL and the tables' changelogs."""
        private_directory(self.settings.stream_data_dir, tighten=True)  # 0700: the stream's tables hold families
        lock = HeldLock(self.engine, f"outcomes-stream:{self.group}")
        self.running, started = True, False  # a standby is ready: it takes over when the active worker goes
        try:
            stood_by = False
            while not await in_thread(lock.try_acquire):
                stood_by = True
                await asyncio.sleep(1.0)
            if stood_by:  # a holder that lost its database connection alive stops within a check and its group
                # session: never two workers in the group at once (they would split the families' pictures)
                await asyncio.sleep(2 * HOLD_CHECK_SECONDS + self.settings.stream_session_timeout_seconds)
            log.info("this worker runs the stream now")
            self.applied = await in_thread(gaps.applied_offsets, self.engine)
            started = True
            await self.app.start()
            while await in_thread(lock.still_held):
                await asyncio.sleep(HOLD_CHECK_SECONDS)
            raise RuntimeError("the stream's lock was lost with its database connection: stopping the stream")
        finally:
            self.running = False
            if started:
                await self.app.stop()
            await self.reader.stop()
            await in_thread(lock.release)

    async def _agent(self, stream: Any) -> None:
        async for events in stream.take_events(BATCH, within=BATCH_WITHIN_SECONDS):
            records = [Incoming(e.message.topic, e.message.partition, e.message.offset, e.message.key,
                                e.message.value, tuple((k, v) for k, v in (e.message.headers or ())))
                       for e in events]
            now = time.monotonic()
            for record in records:
                self._last_seen[(record.topic, record.partition)] = now
            await self._handle_until_done(records)

    async def _handle_until_done(self, records: Sequence[Incoming]) -> None:
        """The batch handled, whatever fails: an agent that raised would be restarted by faust with this batch
        acknowledged and never applied (a stall until the tail is read again). A failure outside the rules
        (which dead-letter their record) is retried, loudly; replays are idempotent."""
        delay = 1.0
        while True:
            try:
                await self._handle(records)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.processor.discard()
                self.metrics.consumer_restarts.inc()
                log.error("stream batch failed outside its retries; retrying", exc_info=exc,
                          extra={"error": type(exc).__name__, "retry_in_seconds": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _handle(self, records: Sequence[Incoming]) -> None:
        started = time.perf_counter()
        delay = 1.0
        while True:
            async with self._lock:
                # replays kept (each counted once, in _count), but a privacy request's: SQL has its answer
                fresh, missing = gaps.plan(records, self.applied, lambda r: r.topic not in REQUESTS)
                try:
                    if missing:
                        log.warning("input records skipped by the stream; reading them from the broker",
                                    extra={"partitions": len(missing),
                                           "records": sum(stop - start for start, stop in missing.values())})
                        gap = await self.reader.read(missing)
                        # in offset order per partition: the replays (below the offsets), the gap, the rest
                        below = [r.offset < self.applied.get((r.topic, r.partition), 0) for r in fresh]
                        fresh = [*(r for r, b in zip(fresh, below, strict=True) if b), *gap,
                                 *(r for r, b in zip(fresh, below, strict=True) if not b)]
                    steps = [self.processor.step(record) for record in fresh]
                    try:
                        added, advanced = await in_thread(self._write, steps, fresh)
                    except Exception as exc:
                        self.processor.discard()
                        if is_infrastructure(exc) or not await in_thread(engine_answers, self.engine):
                            raise
                        # The database answers but refused the batch: find the record at fault.
                        steps, added, advanced = await self._write_carefully(fresh)
                except asyncio.CancelledError:
                    self.processor.discard()
                    raise
                except Exception as exc:  # the database or the broker, not the records: retry, loudly
                    self.processor.discard()
                    self.metrics.consumer_restarts.inc()
                    log.error("stream batch failed; retrying", exc_info=exc,
                              extra={"error": type(exc).__name__, "retry_in_seconds": delay})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                self.processor.commit()
                self.applied.update(advanced)
                self._count(steps, added)
            break
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_records.observe(len(records))
        self.relay.wake()

    async def _write_carefully(self, records: Sequence[Incoming]) -> tuple[list[Step], set[str],
                                                                           dict[gaps.TP, int]]:
        """Each record stepped and written in its own transaction (with its offset); one whose SQL side is
        refused twice with the database answering is dead-lettered instead, its staged changes undone."""
        steps: list[Step] = []
        added: set[str] = set()
        advanced: dict[gaps.TP, int] = {}
        for record in records:
            for attempt in range(2):
                mark = self.processor.mark()
                step = self.processor.step(record)
                try:
                    done, moved = await in_thread(self._write, [step], [record])
                    break
                except Exception as exc:
                    self.processor.rewind(mark)
                    if is_infrastructure(exc) or not await in_thread(engine_answers, self.engine):
                        raise
                    if attempt == 1:
                        log.error("a record's SQL side failed twice; dead-lettering it",
                                  extra={"topic": record.topic, "partition": record.partition,
                                         "offset": record.offset, "error": type(exc).__name__})
                        step = Step(incoming=record, error=handler_failed(exc))
                        done, moved = await in_thread(self._write, [step], [record])
            steps.append(step)
            added |= done
            advanced.update(moved)
        return steps, added, advanced

    def _write(self, steps: Sequence[Step], records: Sequence[Incoming] = ()) -> tuple[set[str], dict[gaps.TP, int]]:
        with Session(for_writing(self.engine)) as session:
            added = ledger.record(session, steps, self.th, self.clock(), privacy=self.privacy)
            advanced = gaps.record_offsets(session, records)
            session.commit()
        return added, advanced

    async def _fill_tails(self) -> None:
        """Partitions with records past the next one applied that faust has not handed over for a while."""
        quiet = max(10.0, 2 * self.settings.review_seconds)
        async with self._lock:  # the reader is one consumer: one user at a time
            now = time.monotonic()
            ends = await self.reader.ends(self.applied)
            behind = {tp: (self.applied[tp], end) for tp, end in ends.items()
                      if end > self.applied[tp] and now - self._last_seen.get(tp, 0.0) > quiet}
            if not behind:
                return
            log.warning("input partitions behind with nothing handed over; reading them from the broker",
                        extra={"partitions": len(behind)})
            records = await self.reader.read(behind)
        await self._handle(records)  # a failure here is the timer's to log; the next tick reads the tail again

    def _count(self, steps: Sequence[Step], added: set[str]) -> None:
        """Metrics, and the month and term counts of the outputs published now (not again on a replay)."""
        for step in steps:
            if step.incoming is not None:
                topic = step.incoming.topic
                if step.error is not None:
                    if dead_letter_id(step.incoming) in added:  # not again on a replay: it pages
                        self.metrics.dead_lettered.labels(topic, step.error.reason).inc()
                elif step.duplicate:
                    self.metrics.replayed.labels(topic).inc()
                else:
                    self.metrics.consumed.labels(topic).inc()
            for topic, event in step.outputs:
                if event.id not in added:
                    continue
                self.metrics.outputs.labels(topic).inc()
                day = day_of(event.time)
                kind = topic.split(".")[1]
                self.counts[f"{kind}|{month_of(day)}"] += 1
                self.counts[f"{kind}|{term_of(day)}"] += 1
        today = day_of(self.clock())
        for topic in OUTPUT_TOPICS.values():
            kind = topic.split(".")[1]
            for period in (month_of(today), term_of(today)):
                self.metrics.period_outputs.labels(kind, period).set(self.counts[f"{kind}|{period}"])
        self.metrics.families.set(len(self.families))

    async def _review(self) -> None:
        try:
            await self._fill_tails()
        except Exception as exc:
            log.error("checking the input partitions failed; retrying at the next tick", exc_info=exc,
                      extra={"error": type(exc).__name__})
        # Every family, a slice at a time: the rules run on the event loop (they read the tables), so a slice
        # bounds how long records and requests wait; between slices they are served.
        keys = self.processor.review_keys()
        size = self.settings.review_slice
        for start in range(0, len(keys), size):
            async with self._lock:
                if not await self._review_slice(keys[start:start + size]):
                    return
            await asyncio.sleep(0)

    async def _review_slice(self, keys: Sequence[str]) -> bool:
        """Review these families and write what they say; False when the review or its write failed (the next
        tick retries: a timer that raised would stop reviewing and reading skipped tails for good)."""
        try:
            step = self.processor.review(keys, self.clock())
            if not step.families:
                self.processor.discard()
                return True
            added, _ = await in_thread(self._write, [step])
        except Exception as exc:
            self.processor.discard()
            log.error("family review failed; retrying at the next tick", exc_info=exc,
                      extra={"error": type(exc).__name__})
            return False
        self.processor.commit()
        self._count([step], added)
        self.relay.wake()
        return True
