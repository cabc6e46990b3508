"""The transactional outbox: events written in the same database
transaction as the change they describe, and the relay that publishes them.

A service declares its table once: `class OutboxEvent(OutboxFields,
MyTable, table=True)`. Handlers call `add_event` (or `add_record` for raw
bytes, e.g. a dead letter) inside their transaction; the relay publishes in
id order, in batches, and marks a row published only once the broker
acknowledged it. A crash between publish and mark republishes the same
event id, which consumers dedupe; a slow event loop never makes the relay
send a batch again that the broker already took.

A row the publisher refuses (it can never be published as it is: too
large, a bad or missing topic, a broker verdict no retry changes) is parked
with a bounded reason code, counted, logged once, and the relay goes on;
the later rows of its topic and key wait behind it, so a key's order holds,
until an operator re-sends it (`resend`: the relay tries it again) or
discards it (`discard`: kept, never published, no longer in the way).

Several workers of a service (each runs a relay) share one outbox: on
PostgreSQL a relay publishes a batch only while it holds the table's advisory
lock (`RelayLock`), taken for the batch (read, publish, mark) and let go
after it, so two relays never send the same rows at once (duplicates) nor a
key's rows out of order; a relay that finds the lock taken tries again
shortly, so rows its worker wrote are published by whichever relay runs next.
A worker killed mid-batch loses its connection, and the lock with it. SQLite
has one worker and no lock; there the relay is pipelined (`pipelined`): see
`OutboxRelay.__init__`.

The table's columns and queries live in `outbox_table.py` (its names are
importable from here too); this module is the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from .clock import Clock, utc_now
from .database import for_writing
from .kafka import BrokerUnavailable, EventPublisher
from .kafka_records import OutboundRecord, Refused, record_size
from .logs import log_context
from .outbox_table import (
    PARKED_NOW,
    OutboxFields,
    ParkedRow,
    _store_headers,
    add_event,
    add_record,
    add_tombstone,
    count_parked,
    count_pending,
    discard,
    mark_published,
    outbound_value,
    park,
    parked_rows,
    pending,
    resend,
    stored_headers,
)
from .relay_lock import RelayLock
from .relay_marks import Key, Marking, last_mark
from .wakeup import Wakeup

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from .metrics import KitMetrics

# The table's names stay importable from here, where the services have always found them.
__all__ = [
    "PARKED_NOW", "OutboxFields", "OutboxRelay", "ParkedRow", "_store_headers", "add_event", "add_record",
    "add_tombstone", "count_parked", "count_pending", "discard", "park", "parked_rows", "pending", "resend",
    "stored_headers",
]
log = logging.getLogger("frontdoor.outbox")
BUSY_RETRY_SECONDS = 0.05  # a relay that found the lock taken tries again this soon
STOP_GRACE_SECONDS = 12.0  # a stop waits this long at most for the batch in flight (publish timeout, mark)


@dataclass(frozen=True)
class _Row:
    id: int
    event_id: str
    record: OutboundRecord


def _settled(batch: asyncio.Future[int]) -> None:
    """A batch's outcome, read whoever waited for it (a stop may have stopped waiting): never left unread."""
    if not batch.cancelled():
        batch.exception()


class OutboxRelay:
    def __init__(self, engine: Engine, table: type[OutboxFields], publisher: EventPublisher, metrics: KitMetrics,
                 batch_size: int = 500, clock: Clock = utc_now, idle_seconds: float = 1.0, pipelined: bool = False):
        self._engine = engine
        self._table = table
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._clock = clock
        self._idle = idle_seconds
        self._wake = Wakeup()
        self._full = False
        self._lock = RelayLock(engine, table)
        # Pipelined (where no lock is taken: SQLite's one worker), a batch is published while the one before is
        # marked (a mark waits for SQLite's write turn, which a busy consumer holds for its whole batch), never
        # reading a row being marked nor one behind a row being parked; a stop waits for the last mark (up to the
        # grace); a mark that fails is raised, and its rows are sent again (at least once).
        self._pipelined = pipelined and not self._lock.needed
        self._marking: Marking | None = None
        self._stop_asked: float | None = None
        self.busy = False  # another worker's relay held the lock at the last try
        self.healthy = True

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows: publish now. Safe
        from any thread (a route running in the thread pool calls it)."""
        self._wake.wake()

    def _read(self, marking: Marking | None) -> tuple[list[_Row], bool]:
        """The next batch (not the rows being marked, nor those behind a row being parked), and whether more
        may be waiting (the read found as many rows as it asked for)."""
        skipped, parking = (marking.rows, marking.parking) if marking is not None else (frozenset(), frozenset())
        limit = self._batch_size + len(skipped)
        with Session(self._engine) as session:
            found = pending(session, self._table, limit)
            return [_Row(row.id, row.event_id, OutboundRecord(row.topic, row.key, *outbound_value(row.payload,
                                                                                       stored_headers(row))))
                    for row in found if row.id not in skipped and (row.topic, row.key) not in parking
                    ][:self._batch_size], len(found) >= limit

    def _counts(self, session: Session | None = None) -> tuple[int, int]:
        if session is None:
            with Session(self._engine) as own:
                return self._counts(own)
        return count_pending(session, self._table), count_parked(session, self._table)

    def _mark(self, done: Sequence[int], parked: Mapping[int, str]) -> tuple[int, int]:
        with Session(for_writing(self._engine)) as session:
            if done:  # a statement built once, on the connection: the turn held for the update alone
                mark_published(session, self._table, done, self._clock())
            park(session, self._table, parked, self._clock())
            session.commit()
        return self._counts()  # read apart: on the writing session it took SQLite's write turn again to count

    def _show(self, counts: tuple[int, int]) -> None:
        self._metrics.outbox_pending.set(counts[0])
        self._metrics.outbox_parked_rows.set(counts[1])

    async def publish_pending(self) -> int:
        """Publish one batch, holding the relays' lock; return how many rows it
        settled (acknowledged or parked); 0 with `busy` set when another relay
        holds the lock. BrokerUnavailable once the rest is marked, if the broker
        did not take a row (a row held back behind a row parked just now waits:
        that is no failure).

        A stop (the task cancelled) lets a batch in flight settle first, for up to `STOP_GRACE_SECONDS`:
        cancelled between publishing and marking, its rows would reach the broker as the publisher stops and
        be sent again by the next relay (a duplicate at every rolling restart). A stop asked for first begins none."""
        await asyncio.sleep(0)  # a stop already asked for ends the relay here, before new work
        batch = asyncio.ensure_future(self._locked_batch())
        batch.add_done_callback(_settled)
        try:
            return await asyncio.shield(batch)
        except asyncio.CancelledError:
            self._stop_asked = time.monotonic()  # one grace for the batch and, after it, its mark (`run`)
            try:
                await asyncio.wait({batch}, timeout=STOP_GRACE_SECONDS)
            finally:
                batch.cancel()  # past the grace (nothing when it settled): unmarked rows go again, at least once
            raise

    async def _locked_batch(self) -> int:
        if not self._lock.needed:
            return await self._publish_batch()
        self.busy = not await asyncio.to_thread(self._lock.acquire)
        if self.busy:
            self._full = False
            return 0
        try:
            return await self._publish_batch()
        finally:
            await asyncio.shield(asyncio.to_thread(self._lock.release))

    async def _publish_batch(self) -> int:
        if self._marking is not None and self._marking.task.done():
            await self._marked()  # its error, if it failed, is raised here (its rows are read again after)
        rows, self._full = await asyncio.to_thread(self._read, self._marking)
        if not rows and self._marking is not None:  # all it found is being marked or behind a row being parked
            await self._marked()
            rows, self._full = await asyncio.to_thread(self._read, None)
        if not rows:
            self._show(await asyncio.to_thread(self._counts))
            return 0
        started = time.perf_counter()
        verdicts = await self._publisher.publish_many([row.record for row in rows])
        done: list[int] = []
        parked: dict[int, str] = {}
        blocked: set[Key] = set()
        failed = 0
        for row, verdict in zip(rows, verdicts, strict=True):
            key = (row.record.topic, row.record.key)
            if isinstance(verdict, Refused):
                parked[row.id] = verdict.reason
                blocked.add(key)
            elif verdict:
                done.append(row.id)
            elif key not in blocked:
                failed += 1
        previous, task = self._marking, asyncio.ensure_future(asyncio.to_thread(self._mark, done, parked))
        task.add_done_callback(self._mark_shown)
        self._marking = Marking(task, frozenset(done) | frozenset(parked), frozenset(blocked))
        self._metrics.outbox_published.inc(len(done))
        self._metrics.outbox_batch_seconds.observe(time.perf_counter() - started)
        for row in rows:
            if row.id in parked:
                self._parked(row, parked[row.id])
        if previous is not None:  # the batch before's mark: its failure is raised (its rows go again, not these)
            await previous.task
        if failed or not self._pipelined:
            await self._marked()
        if failed:
            raise BrokerUnavailable(f"{failed} records not acknowledged")
        return len(done) + len(parked)

    async def _marked(self) -> None:
        """Wait for the mark in flight, if any. Its error is raised: its rows, not marked, are read again."""
        marking = self._marking
        if marking is None:
            return
        try:
            await marking.task
        finally:
            self._marking = None

    def _mark_shown(self, task: asyncio.Future[tuple[int, int]]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._show(task.result())

    def _parked(self, row: _Row, reason: str) -> None:
        self._metrics.outbox_parked.labels(row.record.topic, reason).inc()
        with log_context(event_id=row.event_id):
            log.warning("outbox row parked: it can never be published as it is; the later rows of its key wait "
                        "until it is re-sent or discarded", extra={"outbox_id": row.id, "topic": row.record.topic,
                                                                    "reason": reason,
                                                                    "record_bytes": record_size(row.record)})

    async def run(self) -> None:
        """Publish until cancelled; a broker or database failure pauses the
        relay (and makes the service not ready), it never ends it; a parked
        row does neither. A stop lets a pipelined relay's last mark end first (up to the grace), so the
        next relay does not publish those rows again."""
        try:
            await self._run()
        finally:
            if self._marking is not None:
                await last_mark(self._marking, self._stop_asked, STOP_GRACE_SECONDS)

    async def _run(self) -> None:
        self._wake.bind()
        delay = 0.5
        while True:
            self._wake.clear()
            try:
                while await self.publish_pending() and self._full:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.healthy = False
                level = logging.WARNING if isinstance(exc, BrokerUnavailable) else logging.ERROR
                log.log(level, "outbox relay paused; retrying", extra={"error": type(exc).__name__,
                                                                        "retry_in_seconds": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            self.healthy = True
            with contextlib.suppress(TimeoutError):  # not wait_for below: on 3.11 it can swallow a cancel
                async with asyncio.timeout(BUSY_RETRY_SECONDS if self.busy else self._idle):
                    await self._wake.wait()
