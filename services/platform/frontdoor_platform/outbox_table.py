"""The outbox table and its rows: the columns a service's outbox table takes
(`OutboxFields`), writing an event or raw record into it inside the
caller's transaction, the queries the relay publishes from (id order, never
a row behind a parked row of its topic and key), the operator's view of
the parked rows with `resend` and `discard`, and the purge of settled rows
(published, or discarded) at the end of the retention schedule's period.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import (
    JSON,
    ColumnElement,
    Index,
    LargeBinary,
    Update,
    and_,
    bindparam,
    delete,
    exists,
    func,
    text,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased, declared_attr
from sqlmodel import Field, Session, SQLModel, col, select

from frontdoor_contracts.envelope import CloudEvent, encode_event

from .database import UTCDateTime
from .kafka_records import CLOUDEVENTS_CONTENT_TYPE, Headers

# The rows in the way of their key: a small partial index holds only these.
PARKED_NOW = "parked_at IS NOT NULL AND discarded_at IS NULL"
# The discarded rows, for the purge. Partial, so SQLite's planner (no statistics) never takes it for the relay's
# `discarded_at IS NULL`, which every row matches: that walked the whole table three times a batch.
DISCARDED = "discarded_at IS NOT NULL"


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
                      postgresql_where=text(PARKED_NOW)),
                Index(f"ix_{cls.__tablename__}_discarded_at", "discarded_at", sqlite_where=text(DISCARDED),
                      postgresql_where=text(DISCARDED)))


def _store_headers(headers: Headers) -> list[list[str]] | None:
    return [[name, base64.b64encode(value).decode()] for name, value in headers] or None


def stored_headers(row: OutboxFields | PendingRow) -> list[tuple[str, bytes]]:
    return [(name, base64.b64decode(value)) for name, value in row.headers or ()]


def add_record(session: Session, table: type[OutboxFields], topic: str, key: str, payload: bytes, record_id: str,
               now: datetime, headers: Headers = ()) -> None:
    session.add(table(event_id=record_id, topic=topic, key=key, payload=payload, headers=_store_headers(headers),
                      created_at=now))


def add_record_once(session: Session, table: type[OutboxFields], topic: str, key: str, payload: bytes,
                    record_id: str, now: datetime, headers: Headers = ()) -> bool:
    """`add_record`, unless a row with that event id is there (`INSERT ... ON CONFLICT DO NOTHING`): False then.
    Two workers writing the same record at once (a partition moved mid-batch) make one row, and the second
    waits for the first's commit instead of failing its batch. Written now (the session's pending rows first,
    so the ids keep the order the rows were added in)."""
    session.flush()
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    values = {"event_id": record_id, "topic": topic, "key": key, "payload": payload,
              "headers": _store_headers(headers), "created_at": now}
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    return session.execute(statement.returning(col(table.id))).first() is not None


TOMBSTONE_HEADER = "frontdoor-tombstone"  # an outbox row published as a null value (a compacted topic's delete)


def add_tombstone(session: Session, table: type[OutboxFields], topic: str, key: str, record_id: str,
                  now: datetime) -> None:
    """A tombstone for `key` on a compacted topic, through the outbox: published as a null value."""
    add_record(session, table, topic, key, b"", record_id, now, [(TOMBSTONE_HEADER, b"1")])


def outbound_value(payload: bytes, headers: Headers) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """What the relay publishes for a row: a tombstone's null value without its marker, or the payload."""
    if any(name == TOMBSTONE_HEADER for name, _ in headers):
        return None, [(name, value) for name, value in headers if name != TOMBSTONE_HEADER]
    return payload, list(headers)


def add_event(session: Session, table: type[OutboxFields], topic: str, key: str, event: CloudEvent[Any],
              now: datetime) -> None:
    """A CloudEvent in structured mode (the Kafka binding's content-type header)."""
    add_record(session, table, topic, key, encode_event(event), event.id, now, [CLOUDEVENTS_CONTENT_TYPE])


def add_event_once(session: Session, table: type[OutboxFields], topic: str, key: str, event: CloudEvent[Any],
                   now: datetime) -> bool:
    """`add_event` through `add_record_once`: False when the event id is in the outbox already."""
    return add_record_once(session, table, topic, key, encode_event(event), event.id, now,
                           [CLOUDEVENTS_CONTENT_TYPE])


def _unsent(table: type[OutboxFields]) -> ColumnElement[bool]:
    """Neither published, parked nor discarded."""
    return and_(col(table.published_at).is_(None), col(table.parked_at).is_(None), col(table.discarded_at).is_(None))


def _parked(table: type[OutboxFields]) -> ColumnElement[bool]:
    """Parked and in the way of its key (the partial index's condition, term for term)."""
    return and_(col(table.parked_at).is_not(None), col(table.discarded_at).is_(None))


def _behind(row: type[OutboxFields], ahead: type[OutboxFields]) -> ColumnElement[bool]:
    return and_(col(ahead.topic) == col(row.topic), col(ahead.key) == col(row.key), col(ahead.id) < col(row.id))


class PendingRow(Protocol):
    id: int
    event_id: str
    topic: str
    key: str
    payload: bytes
    headers: list[list[str]] | None


def pending(session: Session, table: type[OutboxFields], limit: int) -> Sequence[PendingRow]:
    """The next rows to publish, in id order; never one behind a parked row of its topic and key. Plain rows,
    not ORM objects, which were half of the relay's read (22 against 10 us a row, SQLite)."""
    ahead = aliased(table)
    in_the_way = select(ahead.id).where(_behind(table, ahead), _parked(ahead))
    query = (sa_select(col(table.id), col(table.event_id), col(table.topic), col(table.key), col(table.payload),
                       col(table.headers))
             .where(_unsent(table), ~exists(in_the_way)).order_by(col(table.id)).limit(limit))
    return session.connection().execute(query).all()


@functools.cache
def _published(table: type[OutboxFields]) -> Update:
    rows = table.__table__  # type: ignore[attr-defined]
    return (update(rows).where(rows.c.id.in_(bindparam("ids", expanding=True)))
            .values(published_at=bindparam("at", type_=rows.c.published_at.type)))


def mark_published(session: Session, table: type[OutboxFields], ids: Sequence[int], now: datetime) -> None:
    """Mark the rows published; the caller commits. A statement built once, run on the session's connection:
    the relay's mark holds SQLite's write turn for the update alone, not the ORM's execution around it."""
    session.connection().execute(_published(table), {"ids": list(ids), "at": now})


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


Settled = Literal["published", "discarded"]


def _settled_at(table: type[OutboxFields], settled: Settled) -> Any:
    return col(table.published_at) if settled == "published" else col(table.discarded_at)


def purge_settled(session: Session, table: type[OutboxFields], settled: Settled, cutoff: datetime,
                  limit: int) -> int:
    """Delete at most `limit` rows published (or discarded) before `cutoff`, oldest first; how many. A parked
    row is never settled until an operator discards it; the caller commits."""
    at = _settled_at(table, settled)
    chosen = select(table.id).where(at < cutoff).order_by(at).limit(limit).with_for_update(skip_locked=True)
    ids = [row_id for row_id in session.exec(chosen).all() if row_id is not None]
    if ids:
        session.execute(delete(table).where(col(table.id).in_(ids)))
    return len(ids)


def oldest_settled(session: Session, table: type[OutboxFields], settled: Settled) -> datetime | None:
    """When the oldest row still held was published (or discarded); None when there is none."""
    found: Any = session.exec(select(func.min(_settled_at(table, settled)))).one()
    if isinstance(found, str):  # an aggregate may come back without the column's type on SQLite
        found = datetime.fromisoformat(found)
    if isinstance(found, datetime) and found.tzinfo is None:  # stored in UTC
        return found.replace(tzinfo=UTC)
    return found if isinstance(found, datetime) else None
