"""The one consumer loop: batches in, one database transaction, offsets out.

Each batch (`getmany`) is decoded record by record with the contracts,
handed to the handlers registered for each topic, and written in ONE
transaction together with the outbox rows the handlers add and the dead
letters of poison records; offsets are committed only after that
transaction. The database work runs in a worker thread, so the event loop
(and the HTTP API on it) never waits on it.

A poison record is dead-lettered with its original bytes and headers, and
the rest of the batch goes on. It is the record's fault (`poison.py`) when
anything at all is raised while it is decoded, when its CloudEvent's source
claims a service its topic does not declare as a producer
(`frontdoor_contracts.sources`: `source_not_allowed`), when its handler raises
InvalidEvent or makes the database refuse it (a conflict, a value too long),
and when its handler raises anything else twice in a row with the database
answering. Only the database or the broker not answering is not the
record's fault: the batch is rolled back, the consumer goes back to its last
commit and retries, loudly, with a growing pause. So no record, whatever its
bytes, can stop a consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import TopicPartition
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_contracts.sources import check_source

from .clock import Clock, utc_now
from .consumer_faults import CONFLICT, RECORD_FAULTS, Poison, again_on_conflict, guarded, restore_info, snapshot_info
from .database import checkpoint, for_writing
from .kafka_security import PLAINTEXT, KafkaSecurity
from .logs import log_context
from .metrics import KitMetrics
from .offset_commits import OffsetCommits
from .outbox_table import OutboxFields
from .poison import database_answers, decode_record, handler_failed, is_infrastructure
from .routes import Consumed, Incoming, Route, Routes, add_dead_letter
from .tracing import span

log = logging.getLogger("frontdoor.consumer")

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


@dataclass
class BatchResult:
    handled: list[tuple[Route[Any, Any], Any]] = field(default_factory=list)
    dead_lettered: list[tuple[str, str]] = field(default_factory=list)  # (topic, reason)
    wrote: bool = False


class BatchConsumer:
    def __init__(self, *, bootstrap: str, group: str, client_id: str, routes: Routes, engine: Engine,
                 outbox: type[OutboxFields], metrics: KitMetrics, on_commit: Callable[[], None] = lambda: None,
                 batch_size: int = 500, clock: Clock = utc_now, security: KafkaSecurity = PLAINTEXT,
                 fetch_wait_ms: int = 50):
        self._bootstrap, self._group, self._client_id, self._security = bootstrap, group, client_id, security
        self._routes, self._engine, self._outbox = routes, for_writing(engine), outbox
        self._metrics, self._on_commit = metrics, on_commit
        self._batch_size, self._clock, self._fetch_wait_ms = batch_size, clock, fetch_wait_ms  # settings.py says why
        self.running = False

    @property
    def group(self) -> str:
        return self._group

    @property
    def topics(self) -> tuple[str, ...]:
        return self._routes.topics

    # -- the transaction (worker thread) ---------------------------------

    def apply_batch(self, records: Sequence[Record]) -> BatchResult:
        """Apply a batch in one transaction. Fast path: every record in one
        go. If a record turns out to be poison, the transaction is rolled
        back and the batch applied again with a savepoint per record, so the
        fault is pinned on the right record and only it is dead-lettered. A
        deadlock or serialization failure with another worker rolls the batch
        back and applies it again here (a few times, each counted in
        `batch_conflict_retries_total`), without leaving the group."""
        def once() -> BatchResult:
            try:
                return self._transaction(records, careful=False)
            except Poison:
                return self._transaction(records, careful=True)

        return again_on_conflict(once, len(records), on_retry=self._metrics.batch_conflict_retries.inc)

    def _transaction(self, records: Sequence[Record], careful: bool) -> BatchResult:
        result = BatchResult()
        now = self._clock()
        with Session(self._engine) as session:
            decoded: list[tuple[int, Route[Any, Any], Any]] = []
            for index, record in enumerate(records):
                route = self._routes.by_topic.get(record.topic)
                try:
                    if route is None:
                        raise InvalidEvent("unknown_topic", [FieldError("", "topic", "no handler for this topic")])
                    if record.value is None and route.tombstone is not None:
                        event = decode_record(route.tombstone, record.key)
                    else:
                        event = decode_record(route.decode, record.value)
                    if isinstance(event, CloudEvent):  # its source must be a producer the topic declares
                        check_source(record.topic, event.source)
                    decoded.append((index, route, event))
                except InvalidEvent as error:
                    self._dead_letter(session, record, error, now, result)
            if not careful:  # a careful re-run asks the database: savepoints may undo what a cache holds
                guarded(-1, self._prefetch, session, decoded)
            for index, route, event in decoded:
                record = records[index]
                where = Consumed(record.topic, record.partition, record.offset, now)
                event_id, traceparent = route.trace(event)
                with log_context(event_id, traceparent), self._span(record, event_id, traceparent):
                    if careful:
                        self._apply_carefully(session, record, route, event, where, result)
                    else:
                        outcome = guarded(index, route.apply, session, event, where)
                        result.handled.append((route, outcome))
                        self._log_handled(record, route, outcome)
            # Handled records may have written through flushes and bulk updates that the
            # session no longer lists: wake the relay for any batch that did anything.
            result.wrote = bool(result.handled or result.dead_lettered or session.new or session.dirty)
            if careful:
                session.commit()
            else:
                guarded(-1, session.commit)
        return result

    def _span(self, record: Record, event_id: str | None, traceparent: str | None) -> Any:
        """The record's span, a child of the trace its event carries."""
        return span(f"consume {record.topic}", self._client_id, parent=traceparent, kind=SpanKind.CONSUMER,
                    attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic,
                                "messaging.kafka.partition": record.partition,
                                "messaging.kafka.offset": record.offset, "messaging.message.id": event_id or ""})

    def _apply_carefully(self, session: Session, record: Record, route: Route[Any, Any], event: Any,
                         where: Consumed, result: BatchResult) -> None:
        """One record in its own savepoint: applied, or dead-lettered when the fault is its own. A handler
        that raises something unexpected is run once more; failing again with the database answering, it
        is the record's fault. So is a conflict (a unique key) met twice: met once, it may be another worker's
        row committed while this one waited for it. A database that does not answer fails the whole batch
        (retried later)."""
        failure: Exception | None = None
        for _ in range(2):
            kept = snapshot_info(session.info)
            try:
                with session.begin_nested():
                    outcome = route.apply(session, event, where)
            except InvalidEvent as error:
                restore_info(session.info, kept)
                self._dead_letter(session, record, error, now=where.now, result=result)
                return
            except RECORD_FAULTS as exc:
                restore_info(session.info, kept)
                if failure is None and isinstance(exc, IntegrityError):  # another worker may have written the
                    failure = exc  # same row and committed meanwhile: run once more; it sees that row now
                    continue
                self._dead_letter(session, record, CONFLICT, now=where.now, result=result)
                return
            except Exception as exc:
                restore_info(session.info, kept)
                if is_infrastructure(exc) or not database_answers(session):
                    raise
                failure = exc
                continue
            result.handled.append((route, outcome))
            self._log_handled(record, route, outcome)
            return
        assert failure is not None
        log.error("handler failed twice on a record; dead-lettering it",
                  extra={"topic": record.topic, "partition": record.partition, "offset": record.offset,
                         "error": type(failure).__name__})
        self._dead_letter(session, record, handler_failed(failure), now=where.now, result=result)

    def _log_handled(self, record: Record, route: Route[Any, Any], outcome: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("handled", extra={"topic": record.topic, "partition": record.partition, "offset": record.offset,
                                        **route.describe(outcome)})

    def _prefetch(self, session: Session, decoded: Sequence[tuple[int, Route[Any, Any], Any]]) -> None:
        by_route: dict[int, tuple[Route[Any, Any], list[Any]]] = {}
        for _, route, event in decoded:
            by_route.setdefault(id(route), (route, []))[1].append(event)
        for route, events in by_route.values():
            if route.prefetch is not None:
                route.prefetch(session, events)

    def _dead_letter(self, session: Session, record: Record, error: InvalidEvent, now: datetime,
                     result: BatchResult) -> None:
        if add_dead_letter(session, self._outbox, Incoming.of(record), error, now):
            result.dead_lettered.append((record.topic, error.reason))  # counted (it pages) once, not per replay
        result.wrote = True

    # -- the loop (event loop) -------------------------------------------

    @staticmethod
    def _after_commit(result: BatchResult) -> None:
        for route, outcome in result.handled:
            if route.after_commit is not None:
                route.after_commit(outcome)

    def _count(self, records: Sequence[Record], result: BatchResult, seconds: float) -> None:
        for topic, reason in result.dead_lettered:
            self._metrics.dead_lettered.labels(topic, reason).inc()
        for topic, count in Counter(record.topic for record in records).items():
            self._metrics.consumed.labels(topic).inc(count)
        self._metrics.batch_seconds.observe(seconds)
        self._metrics.batch_records.observe(len(records))

    async def run(self) -> None:
        """Consume until cancelled; any failure that is not a record's
        restarts the consumer from the last committed offsets after a pause."""
        delay = 1.0
        while True:
            try:
                await self._consume()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._metrics.consumer_restarts.inc()
                log.error("consumer failed; restarting from the last commit",
                          extra={"error": type(exc).__name__, "retry_in_seconds": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            *self._routes.topics, bootstrap_servers=self._bootstrap, group_id=self._group, client_id=self._client_id,
            enable_auto_commit=False, auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_wait_ms=self._fetch_wait_ms,
            **self._security.client_kwargs(),
        )
        await consumer.start()
        self.running = True
        offsets = OffsetCommits(consumer)  # committed while the next batch is applied (offset_commits.py)
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                records = [record for part in batches.values() for record in part]
                if records:
                    started = time.perf_counter()
                    result = await asyncio.to_thread(self.apply_batch, records)
                    # The database has the batch: wake the relay and run the routes' hooks (a delivery
                    # queue's wake-up) now, not after the offsets' round trip to the broker.
                    if result.wrote:
                        self._on_commit()
                    self._after_commit(result)
                    if any(route.erased(outcome) for route, outcome in result.handled):
                        await self._checkpoint()
                    await offsets.commit(batches, partial(self._committed, records, result, started))
                await self._update_lag(consumer)
        finally:
            self.running = False
            await offsets.stop()
            await consumer.stop()

    def _committed(self, records: Sequence[Record], result: BatchResult, started: float) -> None:
        log.info("batch committed", extra={"records": len(records), "handled": len(result.handled),
                                           "dead_lettered": len(result.dead_lettered)})
        self._count(records, result, time.perf_counter() - started)

    async def _checkpoint(self) -> None:
        """The erased bytes out of SQLite's write-ahead log now; a failure is logged, never the batch's (the
        request is answered: a restart would not checkpoint again; the next erasure or the stop will)."""
        try:
            await asyncio.to_thread(checkpoint, self._engine)
        except Exception as exc:
            log.warning("write-ahead log not checkpointed after an erasure", extra={"error": type(exc).__name__})

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        assigned: set[TopicPartition] = consumer.assignment()
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, highwater - await consumer.position(tp))
        for topic, value in lag.items():
            self._metrics.consumer_lag.labels(topic).set(value)
