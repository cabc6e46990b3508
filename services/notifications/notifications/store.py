"""Queries on the notifications service's tables. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from .domain.schools import Enrolment
from .models import (
    DAChildRow,
    DeliveryAttemptRow,
    DeliveryRow,
    EnrolmentRow,
    NotificationRow,
    WaitingChildRow,
    WorklistRow,
)


def record_enrolment(session: Session, *, upn: str, school_urn: str, starts_on: date, ends_on: date | None,
                     event_id: uuid.UUID, now: datetime) -> bool:
    """Insert, or replace the leaving date of, a pupil's enrolment, in one statement (`INSERT ... ON CONFLICT
    DO UPDATE`: two workers recording it at once make one row). False when nothing changed."""
    table: Table = EnrolmentRow.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    statement = insert(table).values(upn=upn, school_urn=school_urn, starts_on=starts_on, ends_on=ends_on,
                                     event_id=event_id, recorded_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.upn, table.c.school_urn, table.c.starts_on],
        set_={"ends_on": statement.excluded.ends_on, "event_id": statement.excluded.event_id,
              "recorded_at": statement.excluded.recorded_at},
        where=table.c.ends_on.is_distinct_from(statement.excluded.ends_on))
    session.flush()
    return session.execute(statement.returning(table.c.upn)).first() is not None


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


def erase_personal(row: NotificationRow, now: datetime) -> None:
    """Erase a notification's personal data (the child's name, date of birth, UPN, the police reference, the
    incident; an allocation message's details), marked erased at `now`; ids, times and outcomes stay. The one
    erasure: the retention purge's, a person's key tombstone's and an erasure request's."""
    row.given_name = row.family_name = row.upn = row.police_reference = row.details = None
    row.date_of_birth = None
    row.incident_at = None
    row.child_present = None
    if row.erased_at is None:
        row.erased_at = now


def notifications_of(session: Session, children: Sequence[uuid.UUID]) -> Sequence[NotificationRow]:
    """The DA notifications about these children."""
    if not children:
        return []
    return session.exec(select(NotificationRow).where(col(NotificationRow.child_id).in_(children))
                        .order_by(col(NotificationRow.created_at))).all()


def erase_children(session: Session, children: Sequence[uuid.UUID], now: datetime) -> int:
    """Erase the personal data of every notification about these children; how many were not erased before."""
    erased = 0
    for row in notifications_of(session, children):
        erased += row.erased_at is None
        erase_personal(row, now)
        session.add(row)
    return erased


def park_child(session: Session, *, contact_id: uuid.UUID, child_id: uuid.UUID, incident: str, topic: str,
               partition: int, offset: int, now: datetime) -> None:
    """A child whose key has not come waits, with the incident as read (its key is the child's own)."""
    session.add(WaitingChildRow(contact_id=contact_id, child_id=child_id, person_id=child_id, incident=incident,
                                topic=topic, partition=partition, record_offset=offset, received_at=now))


def is_waiting(session: Session, contact_id: uuid.UUID, child_id: uuid.UUID) -> bool:
    return session.get(WaitingChildRow, (contact_id, child_id)) is not None


def child_recorded(session: Session, contact_id: uuid.UUID, child_id: uuid.UUID, resolution: str,
                   now: datetime) -> None:
    """A DA child nobody is told about (erased, unreadable), recorded once so the incident read again does
    nothing."""
    if session.get(DAChildRow, (contact_id, child_id)) is None:
        session.add(DAChildRow(contact_id=contact_id, child_id=child_id, resolution=resolution, recorded_at=now))
