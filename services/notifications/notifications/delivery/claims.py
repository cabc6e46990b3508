"""Claiming due deliveries, and giving claims back. Blocking: the loop
calls these in a worker thread.

`claim` takes due rows (pending, `next_attempt_at` <= now, not leased or
the lease run out) by setting `leased_until` = now + `delivery_lease_seconds`
in one short write transaction, reading in the same transaction what each
send needs: the body, built now from the notification row; the recipient's
address and its signing secrets valid now. A row whose content is gone
(erased) is marked failed, unsendable, and never sent. Several workers
claim apart (`SKIP LOCKED` on PostgreSQL).

A worker that dies mid-send leaves its lease, which runs out; the next one
resumes the row. A worker that stops gives its unfinished claims back
(`release`), so the next need not wait for the leases."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import Channel
from frontdoor_platform.database import for_writing

from ..models import DeliveryRow, NotificationRow, RecipientRow
from ..settings import Settings
from . import signing
from .payload import PayloadUnavailable, body_of
from .queue import FAILED, PENDING, UNSENDABLE, Job, Recorded
from .senders import Target

log = logging.getLogger("notifications.delivery")


@dataclass(frozen=True)
class Claimed:
    jobs: list[Job]
    unsendable: list[Recorded]
    next_due: datetime | None  # the earliest pending row not claimed now


def claim(engine: Engine, settings: Settings, limit: int, now: datetime, busy: frozenset[uuid.UUID]) -> Claimed:
    """Lease up to `limit` due rows (not those in `busy`, sent by this worker now) and read what each needs."""
    lease = now + timedelta(seconds=settings.delivery_lease_seconds)
    due = (col(DeliveryRow.state) == PENDING, col(DeliveryRow.next_attempt_at) <= now,
           or_(col(DeliveryRow.leased_until).is_(None), col(DeliveryRow.leased_until) <= now))
    query = select(DeliveryRow).where(*due)
    if busy:
        query = query.where(col(DeliveryRow.notification_id).notin_(busy))
    query = (query.order_by(col(DeliveryRow.next_attempt_at)).limit(limit)
             .with_for_update(skip_locked=True))  # PostgreSQL: several workers claim apart
    jobs: list[Job] = []
    unsendable: list[Recorded] = []
    with Session(for_writing(engine), expire_on_commit=False) as session:
        rows = session.exec(query).all()
        notes = _notifications(session, [row.notification_id for row in rows])
        for row in rows:
            try:
                target = _target(session, settings, row, notes.get(row.notification_id), now)
            except PayloadUnavailable:
                unsendable.append(_unsendable(session, row, now))
                continue
            row.leased_until, row.updated_at = lease, now
            session.add(row)
            jobs.append(Job(target, row.notification_id, lease))
        next_due = _next_due(session, {row.notification_id for row in rows} | busy)
        session.commit()
    return Claimed(jobs, unsendable, next_due)


def _next_due(session: Session, claimed: set[uuid.UUID]) -> datetime | None:
    """When the earliest pending row not claimed now is next claimable: its next attempt, or its lease
    running out (a crashed worker's)."""
    leased = and_(col(DeliveryRow.leased_until).is_not(None),
                  col(DeliveryRow.leased_until) > col(DeliveryRow.next_attempt_at))
    claimable_at = case((leased, col(DeliveryRow.leased_until)), else_=col(DeliveryRow.next_attempt_at))
    later = select(func.min(claimable_at)).where(col(DeliveryRow.state) == PENDING)
    if claimed:
        later = later.where(col(DeliveryRow.notification_id).notin_(claimed))
    return _aware(session.exec(later).one())


def release(engine: Engine, jobs: Sequence[Job]) -> None:
    """Give back the claims of sends stopped before their result was recorded (only while still ours)."""
    with Session(for_writing(engine)) as session:
        for job in jobs:
            session.execute(update(DeliveryRow).where(
                col(DeliveryRow.notification_id) == job.notification_id, col(DeliveryRow.state) == PENDING,
                col(DeliveryRow.leased_until) == job.lease).values(leased_until=None))
        session.commit()


def _notifications(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, NotificationRow]:
    if not ids:
        return {}
    found = session.exec(select(NotificationRow).where(col(NotificationRow.notification_id).in_(ids))).all()
    return {note.notification_id: note for note in found}


def _target(session: Session, settings: Settings, row: DeliveryRow, note: NotificationRow | None,
            now: datetime) -> Target:
    if note is None:
        raise PayloadUnavailable("no such notification")
    body = body_of(note, settings.mash_contact)
    recipient = session.get(RecipientRow, note.recipient_id)
    url = recipient.webhook_url if recipient else None
    email = recipient.alert_email if recipient else None
    secrets = (signing.valid_secrets(session, note.recipient_id, now, settings.sealing_keys)
               if row.channel == Channel.WEBHOOK else [])
    return Target(str(row.notification_id), row.channel, body, url=url, email=email, secrets=tuple(secrets),
                  traceparent=note.traceparent)


def _unsendable(session: Session, row: DeliveryRow, now: datetime) -> Recorded:
    log.warning("notification has nothing to send; not delivered",
                extra={"notification_id": str(row.notification_id)})
    row.state, row.last_reason, row.leased_until, row.updated_at = FAILED, UNSENDABLE, None, now
    session.add(row)
    return Recorded(row.channel, UNSENDABLE, gave_up=UNSENDABLE)


def _aware(value: datetime | None) -> datetime | None:
    """An aggregate may come back without the column's type (naive on SQLite): it is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
