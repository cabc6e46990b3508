"""The transactional outbox: events written in the same database
transaction as the change they describe, and the relay that publishes them.

A service declares its table once: `class OutboxEvent(OutboxFields,
MyTable, table=True)`. Handlers call `add_event` (or `add_record` for raw
bytes, e.g. a dead letter) inside their transaction; the relay publishes in
id order, in batches, and marks a row published only once the broker
acknowledged it. A crash between publish and mark republishes the same
event id, which consumers dedupe; a slow event loop never makes the relay
send a batch again that the broker already took.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, LargeBinary, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from frontdoor_contracts.envelope import CloudEvent, encode_event

from .clock import Clock, utc_now
from .database import UTCDateTime, for_writing
from .kafka import CLOUDEVENTS_CONTENT_TYPE, BrokerUnavailable, EventPublisher, Headers, OutboundRecord
from .wakeup import Wakeup

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from .metrics import KitMetrics

log = logging.getLogger("frontdoor.outbox")


class OutboxFields(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=200, unique=True)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    payload: bytes = Field(sa_type=LargeBinary, nullable=False)
    headers: list[list[str]] | None = Field(default=None, sa_type=JSON, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True, index=True)


def _store_headers(headers: Headers) -> list[list[str]] | None:
    return [[name, base64.b64encode(value).decode()] for name, value in headers] or None


def stored_headers(row: OutboxFields) -> list[tuple[str, bytes]]:
    return [(name, base64.b64decode(value)) for name, value in row.headers or ()]


def add_record(session: Session, table: type[OutboxFields], topic: str, key: str, payload: bytes, record_id: str,
               now: datetime, headers: Headers = ()) -> None:
    session.add(table(event_id=record_id, topic=topic, key=key, payload=payload, headers=_store_headers(headers),
                      created_at=now))


def add_event(session: Session, table: type[OutboxFields], topic: str, key: str, event: CloudEvent[Any],
              now: datetime) -> None:
    """A CloudEvent in structured mode (the Kafka binding's content-type header)."""
    add_record(session, table, topic, key, encode_event(event), event.id, now, [CLOUDEVENTS_CONTENT_TYPE])


def pending(session: Session, table: type[OutboxFields], limit: int) -> Sequence[OutboxFields]:
    query = select(table).where(col(table.published_at).is_(None)).order_by(col(table.id)).limit(limit)
    return session.exec(query).all()


def count_pending(session: Session, table: type[OutboxFields]) -> int:
    query = select(func.count()).select_from(table).where(col(table.published_at).is_(None))
    return int(session.exec(query).one())


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
        self.healthy = True

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows: publish now. Safe
        from any thread (a route running in the thread pool calls it)."""
        self._wake.wake()

    def _read(self) -> list[tuple[int, OutboundRecord]]:
        with Session(self._engine) as session:
            return [(row.id, OutboundRecord(row.topic, row.key, row.payload, stored_headers(row)))
                    for row in pending(session, self._table, self._batch_size) if row.id is not None]

    def _mark(self, ids: Sequence[int]) -> int:
        with Session(for_writing(self._engine)) as session:
            if ids:
                session.execute(update(self._table).where(col(self._table.id).in_(ids))
                                .values(published_at=self._clock()))
                session.commit()
            return count_pending(session, self._table)

    async def publish_pending(self) -> int:
        """Publish one batch; return how many the broker acknowledged."""
        rows = await asyncio.to_thread(self._read)
        if not rows:
            self._metrics.outbox_pending.set(0)
            return 0
        started = time.perf_counter()
        acknowledged = await self._publisher.publish_many([record for _, record in rows])
        done = [row_id for (row_id, _), ok in zip(rows, acknowledged, strict=True) if ok]
        remaining = await asyncio.to_thread(self._mark, done)
        self._metrics.outbox_pending.set(remaining)
        self._metrics.outbox_published.inc(len(done))
        self._metrics.outbox_batch_seconds.observe(time.perf_counter() - started)
        if len(done) < len(rows):
            raise BrokerUnavailable(f"{len(rows) - len(done)} records not acknowledged")
        return len(done)

    async def run(self) -> None:
        """Publish until cancelled; a broker or database failure pauses the
        relay (and makes the service not ready), it never ends it."""
        self._wake.bind()
        delay = 0.5
        while True:
            self._wake.clear()
            try:
                while await self.publish_pending() >= self._batch_size:
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
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()
