"""The events the service emits about a notification or a contact
(school unknown, acknowledged, unacknowledged), added to the outbox in the
caller's transaction. Ids derive from what the event is about, so a step
redone after a crash emits the same event id (consumers dedupe on it). The
delivery events (delivered, delivery failed) go out from `delivery/`, with
ids of their own derivation (`delivery.queue.event_id`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.notifications import NotificationKind
from frontdoor_contracts.topics import TopicSpec
from frontdoor_platform import outbox_table as outbox

from .models import NotificationRow, OutboxEvent

EVENT_NAMESPACE = uuid.UUID("4c7e2a91-8d3b-4f6a-b5e0-1a2b3c4d5e6f")


def event_id_for(subject: uuid.UUID, kind: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{subject}\n{kind}"))


def about(note: NotificationRow) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(contact_id, child_id) a notification event names: a DA notification's incident (its subject) and child,
    ids only (the child's id is gone once the child is erased); nothing for the other kinds (their subject is a
    case)."""
    if note.kind != NotificationKind.DA_INCIDENT:
        return None, None
    return note.subject_id, note.child_id


def emit(session: Session, *, source_uri: str, topic: TopicSpec, key: uuid.UUID, data: EventData, time: datetime,
         now: datetime) -> None:
    """One event about `key` (a notification or a contact) of `topic`'s kind: once per key and topic, however
    many workers emit it at once (`ON CONFLICT DO NOTHING` on its derived id)."""
    event = new_event(data, source=source_uri, subject=str(key), time=time, event_id=event_id_for(key, topic.name))
    outbox.add_event_once(session, OutboxEvent, topic.name, str(key), event, now)
