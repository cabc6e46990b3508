"""How a service's records are handled, whoever reads them (the kit's batch
consumer, the outcomes stream, a rebuild): a record as read (`Incoming`),
where it came from (`Consumed`), one topic's route (`Route`: decode, apply,
hooks) and a service's routes (`Routes`); and a poison record's dead letter
through the outbox, written once however many workers meet the record."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeAlias, TypeVar

from aiokafka import ConsumerRecord
from sqlmodel import Session

from frontdoor_contracts.deadletters import dead_letter_headers
from frontdoor_contracts.errors import InvalidEvent
from frontdoor_contracts.topics import dead_letter_topic

from .outbox import OutboxFields
from .outbox_table import TOMBSTONE_HEADER, add_record_once

log = logging.getLogger("frontdoor.consumer")
E = TypeVar("E")
R = TypeVar("R")
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
MAX_DEAD_LETTER_KEY = 200  # the outbox's key column
MAX_DEAD_LETTER_BYTES = 900_000  # under the broker's and producer's 1 MiB record limit, headers included


@dataclass(frozen=True)
class Incoming:
    """A record as read from a topic, whoever read it (this loop, a faust agent, a rebuild)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()

    @staticmethod
    def of(record: Record) -> Incoming:
        return Incoming(record.topic, record.partition, record.offset, record.key, record.value,
                        tuple(record.headers or ()))


def dead_letter_id(record: Incoming) -> str:
    """The outbox event id of a record's dead letter: one per topic, partition and offset."""
    return f"dlq:{record.topic}:{record.partition}:{record.offset}"


def add_dead_letter(session: Session, table: type[OutboxFields], record: Incoming, error: InvalidEvent,
                    now: datetime) -> bool:
    """The original bytes and headers to the topic's dead-letter topic, through the outbox in the caller's
    transaction, once per record however many workers read it; False when the record was dead-lettered
    already (a replay, or another worker's: count nothing). Written at once with `INSERT ... ON CONFLICT DO
    NOTHING` on the dead letter's event id (`add_record_once`): a second worker dead-lettering the same
    record waits for the first's commit and writes nothing, instead of failing its batch."""
    # A header only the outbox may set (a tombstone) never comes in from a record: its dead letter is
    # published as the bytes received, whatever headers the sender put on it.
    received = [(name, value) for name, value in record.headers if name != TOMBSTONE_HEADER]
    headers = dead_letter_headers(error, record.topic, record.partition, record.offset, received)
    key = record.key.decode(errors="replace")[:MAX_DEAD_LETTER_KEY] if record.key is not None else ""
    value = record.value or b""
    if len(value) > MAX_DEAD_LETTER_BYTES:  # it could never be published whole: keep where to find it
        headers.append(("dlq.truncated_from", str(len(value)).encode()))
        value = value[:MAX_DEAD_LETTER_BYTES]
    added = add_record_once(session, table, dead_letter_topic(record.topic), key, value, dead_letter_id(record),
                            now, headers)
    log.warning("dead-lettered" if added else "dead-lettered already (a replay, or another worker's)",
                extra={"topic": record.topic, "partition": record.partition, "offset": record.offset,
                       "reason": error.reason, "field": error.field})
    return added


@dataclass(frozen=True)
class Consumed:
    """Where a record came from, for handlers that need it."""

    topic: str
    partition: int
    offset: int
    now: datetime


@dataclass(frozen=True)
class Route(Generic[E, R]):
    """How one topic is handled. `decode` and `apply` raise InvalidEvent for
    the record's faults; `prefetch` loads what a whole batch needs in a few
    queries; `after_commit` counts what happened (metrics) once it is durable."""

    decode: Callable[[bytes], E]
    apply: Callable[[Session, E, Consumed], R]
    prefetch: Callable[[Session, Sequence[E]], None] | None = None
    after_commit: Callable[[R], None] | None = None
    trace: Callable[[E], tuple[str | None, str | None]] = lambda _: (None, None)
    describe: Callable[[R], dict[str, Any]] = lambda _: {}
    # A compacted topic's tombstone (a null value): the event made from the record's key, for `apply`.
    # Without it a null value is decoded like any other (and is poison).
    tombstone: Callable[[bytes], E] | None = None
    # True when what `apply` did erased personal data: the consumer then checkpoints SQLite's write-ahead log
    # after the commit, so the erased bytes leave it at once (`database.checkpoint`).
    erased: Callable[[R], bool] = lambda _: False


@dataclass
class Routes:
    by_topic: dict[str, Route[Any, Any]] = field(default_factory=dict)

    def add(self, topic: str, route: Route[Any, Any]) -> Routes:
        if topic in self.by_topic:
            raise ValueError(f"{topic} has a route already")
        self.by_topic[topic] = route
        return self

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.by_topic)
