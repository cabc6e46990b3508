"""Queries on the notifications service's tables. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from .domain.schools import Enrolment
from .models import DeliveryAttemptRow, DeliveryRow, EnrolmentRow, NotificationRow, WorklistRow


def record_enrolment(session: Session, *, upn: str, school_urn: str, starts_on: date, ends_on: date | None,
                     event_id: uuid.UUID, now: datetime) -> bool:
    """Insert, or replace the leaving date of, a pupil's enrolment. False when nothing changed."""
    row = session.get(EnrolmentRow, (upn, school_urn, starts_on))
    if row is None:
        session.add(EnrolmentRow(upn=upn, school_urn=school_urn, starts_on=starts_on, ends_on=ends_on,
                                 event_id=event_id, recorded_at=now))
        return True
    if row.ends_on == ends_on:
        return False
    row.ends_on, row.event_id, row.recorded_at = ends_on, event_id, now
    session.add(row)
    return True


def enrolments_of(session: Session, upn: str) -> Sequence[Enrolment]:
    rows = session.exec(select(EnrolmentRow).where(col(EnrolmentRow.upn) == upn)).all()
    return [Enrolment(r.upn, r.school_urn, r.starts_on, r.ends_on) for r in rows]


def deliveries(session: Session, *, state: str | None, recipient_id: str | None, limit: int,
               ) -> Sequence[tuple[NotificationRow, DeliveryRow | None]]:
    query = (select(NotificationRow, DeliveryRow)
             .join(DeliveryRow, col(DeliveryRow.notification_id) == col(NotificationRow.notification_id), isouter=True)
             .order_by(col(NotificationRow.created_at).desc()).limit(limit))
    if state is not None:
        query = query.where(col(DeliveryRow.state) == state)
    if recipient_id is not None:
        query = query.where(col(NotificationRow.recipient_id) == recipient_id)
    return [(n, d) for n, d in session.exec(query).all()]


def attempts_of(session: Session, notification_id: uuid.UUID) -> Sequence[DeliveryAttemptRow]:
    query = (select(DeliveryAttemptRow).where(col(DeliveryAttemptRow.notification_id) == notification_id)
             .order_by(col(DeliveryAttemptRow.number)))
    return session.exec(query).all()


def worklist(session: Session, *, open_only: bool, limit: int) -> Sequence[WorklistRow]:
    query = select(WorklistRow).order_by(col(WorklistRow.created_at).desc()).limit(limit)
    if open_only:
        query = query.where(col(WorklistRow.resolved_at).is_(None))
    return session.exec(query).all()


def notification(session: Session, notification_id: uuid.UUID) -> NotificationRow | None:
    return session.get(NotificationRow, notification_id)
