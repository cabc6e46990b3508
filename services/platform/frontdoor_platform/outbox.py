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
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ColumnElement, Index, LargeBinary, and_, exists, func, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased, declared_attr
from sqlmodel import Field, Session, SQLModel, col, select

from frontdoor_contracts.envelope import CloudEvent, encode_event

from .clock import Clock, utc_now
from .database import UTCDateTime, for_writing
from .kafka import (
    CLOUDEVENTS_CONTENT_TYPE,
    BrokerUnavailable,
    EventPublisher,
    Headers,
    OutboundRecord,
    Refused,
    record_size,
)
from .logs import log_context
from .wakeup import Wakeup

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from .metrics import KitMetrics

log = logging.getLogger("frontdoor.outbox")
# The rows in the way of their key: a small partial index holds only these.
PARKED_NOW = "parked_at IS NOT NULL AND discarded_at IS NULL"


class OutboxFields(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=200, unique=True)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    payload: bytes = Field(sa_type=LargeBinary, nullable=False)
    headers: list[list[str]] | None = Field(default=None, sa_type=JSON, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True, index=True)
    parked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    park_reason: str | None = Field(default=None, max_length=100)  # a bounded code, never the payload's content
    discarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)

    @declared_attr  # type: ignore[arg-type]
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index(f"ix_{cls.__tablename__}_parked", "topic", "key", "id", sqlite_where=text(PARKED_NOW),
                      postgresql_where=text(PARKED_NOW)),)


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


def _unsent(table: type[OutboxFields]) -> ColumnElement[bool]:
    """Neither published, parked nor discarded."""
    return and_(col(table.published_at).is_(None), col(table.parked_at).is_(None), col(table.discarded_at).is_(None))


def _parked(table: type[OutboxFields]) -> ColumnElement[bool]:
    """Parked and in the way of its key (the partial index's condition, term for term)."""
    return and_(col(table.parked_at).is_not(None), col(table.discarded_at).is_(None))


def _behind(row: type[OutboxFields], ahead: type[OutboxFields]) -> ColumnElement[bool]:
    return and_(col(ahead.topic) == col(row.topic), col(ahead.key) == col(row.key), col(ahead.id) < col(row.id))


def pending(session: Session, table: type[OutboxFields], limit: int) -> Sequence[OutboxFields]:
    """The next rows to publish, in id order; never one behind a parked row of its topic and key."""
    ahead = aliased(table)
    in_the_way = select(ahead.id).where(_behind(table, ahead), _parked(ahead))
    query = select(table).where(_unsent(table), ~exists(in_the_way)).order_by(col(table.id)).limit(limit)
    return session.exec(query).all()


def count_pending(session: Session, table: type[OutboxFields]) -> int:
    """Rows still to publish, those waiting behind a parked row included (parked rows are counted apart)."""
    return int(session.exec(select(func.count()).select_from(table).where(_unsent(table))).one())


def count_parked(session: Session, table: type[OutboxFields]) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(_parked(table))).one())


def park(session: Session, table: type[OutboxFields], reasons: Mapping[int, str], now: datetime) -> None:
    """Park the rows (by id) with their reasons; the caller commits."""
    for reason in set(reasons.values()):
        ids = [row_id for row_id, why in reasons.items() if why == reason]
        session.execute(update(table).where(col(table.id).in_(ids), _unsent(table))
                        .values(parked_at=now, park_reason=reason))


@dataclass(frozen=True)
class ParkedRow:
    id: int
    event_id: str
    topic: str
    key: str
    payload_bytes: int
    reason: str
    parked_at: datetime
    waiting: int  # the later rows of its topic and key, waiting behind it


def parked_rows(session: Session, table: type[OutboxFields]) -> list[ParkedRow]:
    later = aliased(table)
    waiting = select(func.count()).select_from(later).where(_behind(later, table), _unsent(later)).scalar_subquery()
    query = sa_select(col(table.id), col(table.event_id), col(table.topic), col(table.key),
                      func.length(col(table.payload)), col(table.park_reason), col(table.parked_at), waiting)
    return [ParkedRow(*row) for row in session.execute(query.where(_parked(table)).order_by(col(table.id)))]


def _settle_parked(session: Session, table: type[OutboxFields], ids: Iterable[int] | None,
                   values: Mapping[str, Any]) -> list[int]:
    """Apply `values` to the given parked rows (None: all of them) and commit; ValueError names any
    id that is not parked now, and then nothing changes."""
    query = select(table.id).where(_parked(table)).order_by(col(table.id)).with_for_update()
    found = [int(i) for i in session.exec(query).all() if i is not None]
    chosen = found if ids is None else sorted(set(ids))
    missing = sorted(set(chosen) - set(found))
    if missing:
        raise ValueError("not parked: " + ", ".join(map(str, missing)))
    if chosen:
        session.execute(update(table).where(col(table.id).in_(chosen), _parked(table)).values(**values))
    session.commit()
    return chosen


def resend(session: Session, table: type[OutboxFields], ids: Iterable[int] | None) -> list[int]:
    """Unpark: the relay tries the rows again, and the rows waiting behind them follow."""
    return _settle_parked(session, table, ids, {"parked_at": None, "park_reason": None})


def discard(session: Session, table: type[OutboxFields], ids: Iterable[int] | None, now: datetime) -> list[int]:
    """Never publish the rows (kept, with why they were parked); their keys' later rows go on."""
    return _settle_parked(session, table, ids, {"discarded_at": now})


@dataclass(frozen=True)
class _Row:
    id: int
    event_id: str
    record: OutboundRecord


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
        self.healthy = True

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows: publish now. Safe
        from any thread (a route running in the thread pool calls it)."""
        self._wake.wake()

    def _read(self) -> list[_Row]:
        with Session(self._engine) as session:
            return [_Row(row.id, row.event_id, OutboundRecord(row.topic, row.key, row.payload, stored_headers(row)))
                    for row in pending(session, self._table, self._batch_size) if row.id is not None]

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
        """Publish one batch; return how many rows it settled (acknowledged or
        parked). BrokerUnavailable once the rest is marked, if the broker did
        not take a row (a row held back behind a row parked just now waits:
        that is no failure)."""
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
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()
