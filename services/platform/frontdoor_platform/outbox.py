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
has one worker and no lock.

The table's columns and queries live in `outbox_table.py` (its names are
importable from here too); this module is the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

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
    outbound_value,
    park,
    parked_rows,
    pending,
    resend,
    stored_headers,
)
from .wakeup import Wakeup

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from .metrics import KitMetrics

# The table's names stay importable from here, where the services have always found them.
__all__ = [
    "PARKED_NOW", "OutboxFields", "OutboxRelay", "ParkedRow", "_store_headers", "add_event", "add_record",
    "add_tombstone",
    "count_parked", "count_pending", "discard", "park", "parked_rows", "pending", "resend", "stored_headers",
]

log = logging.getLogger("frontdoor.outbox")


RELAY_LOCKS = 0x46440002  # the advisory locks' first key: the outbox relays (the second: the table's)
BUSY_RETRY_SECONDS = 0.05  # a relay that found the lock taken tries again this soon
STOP_GRACE_SECONDS = 12.0  # a stop waits this long at most for the batch in flight (publish timeout, mark)


class RelayLock:
    """One relay of an outbox at a time: PostgreSQL's session advisory lock, on a connection the relay holds
    from `acquire` to `release` (blocking calls: run them in a thread). Always granted on SQLite (one worker)."""

    def __init__(self, engine: Engine, table: type[OutboxFields]):
        self._engine = engine
        self._key = zlib.crc32(str(table.__tablename__).encode()) - 2**31  # a signed 32-bit key per table
        self._connection: Connection | None = None

    def _locking(self, sql: str) -> bool:
        assert self._connection is not None
        return bool(self._connection.execute(text(sql), {"a": RELAY_LOCKS, "b": self._key}).scalar())

    @property
    def needed(self) -> bool:
        """Only PostgreSQL's relays take the lock (SQLite has one worker): the others skip two thread hops a batch,
        each a wait for the GIL beside a busy consumer thread, on the DA alerts' path."""
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """Take the lock if no other relay holds it: True when this relay may publish a batch."""
        if not self.needed:
            return True
        self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = self._locking("SELECT pg_try_advisory_lock(:a, :b)")
        except Exception:
            self._close()
            raise
        if not taken:
            self._close()
        return taken

    def release(self) -> None:
        """Let the lock go and give the connection back (a connection lost took the lock with it)."""
        if self._connection is None:
            return
        try:
            self._locking("SELECT pg_advisory_unlock(:a, :b)")
        except Exception:
            self._connection.invalidate()  # never back in the pool holding the lock: its session ends instead
            raise
        finally:
            self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


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
                 batch_size: int = 500, clock: Clock = utc_now, idle_seconds: float = 1.0):
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
        self.busy = False  # another worker's relay held the lock at the last try
        self.healthy = True

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows: publish now. Safe
        from any thread (a route running in the thread pool calls it)."""
        self._wake.wake()

    def _read(self) -> list[_Row]:
        with Session(self._engine) as session:
            return [_Row(row.id, row.event_id, OutboundRecord(row.topic, row.key, *outbound_value(row.payload,
                                                                                       stored_headers(row))))
                    for row in pending(session, self._table, self._batch_size)]

    def _counts(self, session: Session | None = None) -> tuple[int, int]:
        if session is None:
            with Session(self._engine) as own:
                return self._counts(own)
        return count_pending(session, self._table), count_parked(session, self._table)

    def _mark(self, done: Sequence[int], parked: Mapping[int, str]) -> tuple[int, int]:
        with Session(for_writing(self._engine)) as session:
            if done:
                session.execute(update(self._table).where(col(self._table.id).in_(done))
                                .values(published_at=self._clock()))
            park(session, self._table, parked, self._clock())
            session.commit()
            return self._counts(session)

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
        rows = await asyncio.to_thread(self._read)
        self._full = len(rows) >= self._batch_size
        if not rows:
            self._show(await asyncio.to_thread(self._counts))
            return 0
        started = time.perf_counter()
        verdicts = await self._publisher.publish_many([row.record for row in rows])
        done: list[int] = []
        parked: dict[int, str] = {}
        blocked: set[tuple[str, str | None]] = set()
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
        self._show(await asyncio.to_thread(self._mark, done, parked))
        self._metrics.outbox_published.inc(len(done))
        self._metrics.outbox_batch_seconds.observe(time.perf_counter() - started)
        for row in rows:
            if row.id in parked:
                self._parked(row, parked[row.id])
        if failed:
            raise BrokerUnavailable(f"{failed} records not acknowledged")
        return len(done) + len(parked)

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
        row does neither."""
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
