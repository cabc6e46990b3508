"""Queries on the notifications service's tables. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from .domain.schools import Enrolment
from .models import EnrolmentRow


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
