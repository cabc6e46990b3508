"""The persistent delivery queue (the `deliveries` table): its states, its
ids, what a claimed row and a recorded result are, and the two writes other
modules make in their own transaction: `enqueue` (the consumer's batch) and
`retry` (the MASH's `POST /v1/deliveries/{id}/retry`).

The loop that works the queue is `loop.py`: it claims due rows
(`claims.py`), sends them (`senders.py`), records each result
(`results.py`) and escalates what will not make its deadline
(`escalations.py`). The pending deliveries by age are counted when scraped
(`pending.py`).

`retry` queues a failed row again, due now, on the recipient's channel now,
with every attempt again (`attempts_before_retry`, from which the backoff
starts again too); the audit keeps every attempt. It is not escalated a
second time: if it fails for good again, its worklist item, when resolved,
is opened again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.topics import TopicSpec
from frontdoor_platform import outbox
from frontdoor_platform.outbox import OutboxFields

from ..models import DeliveryRow, NotificationRow
from .senders import Target

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
UNSENDABLE = "unsendable"  # the row's content is gone (erased): never sent, never retried
WORKLIST_KIND = "delivery_failed"


def enqueue(session: Session, notification_id: uuid.UUID, channel: str, now: datetime) -> DeliveryRow:
    """Queue a notification for delivery on `channel` (the recipient's at
    the time), due now, in the caller's transaction. Idempotent: a
    notification already queued keeps its row (and its progress)."""
    existing = session.get(DeliveryRow, notification_id)
    if existing is not None:
        return existing
    row = DeliveryRow(notification_id=notification_id, channel=channel, state=PENDING, attempts=0,
                      next_attempt_at=now, updated_at=now)
    session.add(row)
    return row


class NotRetryable(Exception):
    """Why a delivery cannot be sent again (a reason safe to show: no personal data)."""


def retry(session: Session, row: DeliveryRow, note: NotificationRow, channel: str | None, now: datetime,
          by: str) -> DeliveryRow:
    """Queue a failed delivery again, due now, on `channel` (the
    recipient's in the directory now, after an admin fixed its address),
    with `delivery_max_attempts` attempts again; in the caller's
    transaction. The attempts so far stay in the audit and the count. It
    is not escalated a second time (the MASH has it); failing for good
    again reopens its worklist item."""
    if row.state == DELIVERED:
        raise NotRetryable("it was delivered")
    if row.state == PENDING:
        raise NotRetryable("it is queued already")
    if note.erased_at is not None:
        raise NotRetryable("its personal data was erased at the end of retention: nothing to send")
    if note.acknowledged_at is not None:
        raise NotRetryable("it was acknowledged already")
    if channel is None:
        raise NotRetryable("its recipient is not in the directory")
    row.state, row.channel, row.next_attempt_at, row.leased_until = PENDING, channel, now, None
    row.attempts_before_retry, row.retried_at, row.retried_by, row.updated_at = row.attempts, now, by[:80], now
    session.add(row)
    return row


def event_id(notification_id: uuid.UUID, topic: TopicSpec) -> str:
    """The same id however often the step is redone."""
    return str(uuid.uuid5(notification_id, topic.name))


def worklist_item_id(notification_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(notification_id, WORKLIST_KIND)


@dataclass(frozen=True)
class Emitter:
    """Adds a delivery event about a notification to the outbox, in the caller's transaction."""

    outbox_table: type[OutboxFields]
    source_uri: str

    def __call__(self, session: Session, topic: TopicSpec, notification_id: uuid.UUID, data: EventData,
                 now: datetime) -> None:
        event = new_event(data, source=self.source_uri, subject=str(notification_id), time=now,
                          event_id=event_id(notification_id, topic))
        outbox.add_event(session, self.outbox_table, topic.name, str(notification_id), event, now)


@dataclass(frozen=True)
class Job:
    """One claimed delivery: what to send, and the lease that claims it."""

    target: Target
    notification_id: uuid.UUID
    lease: datetime


@dataclass
class Recorded:
    """What recording one result did, for the metrics (bounded labels only)."""

    channel: str
    outcome: str
    delivered: bool = False
    timing: str | None = None  # before_deadline | late | no_deadline
    latency_seconds: float | None = None
    gave_up: str | None = None  # the reason, when no more attempts will be made
    escalated: str | None = None  # the reason, when this escalated it
