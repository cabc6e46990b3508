"""A school's notifications: its inbox (unacknowledged first, soonest
deadline first) and acknowledgement by a key adult, the same for the API and
the page. A school only ever finds its own: another school's id is "not
found", so ids are not confirmed. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import NotificationAcknowledged, NotificationKind
from frontdoor_contracts.topics import NOTIFICATIONS_ACKNOWLEDGED

from .models import NotificationRow
from .outgoing import about, emit


def of_school(session: Session, urn: str, *, limit: int = 200) -> Sequence[NotificationRow]:
    query = (select(NotificationRow)
             .where(col(NotificationRow.recipient_id) == urn, col(NotificationRow.kind) == NotificationKind.DA_INCIDENT)
             .order_by(case((col(NotificationRow.acknowledged_at).is_(None), 0), else_=1),
                       col(NotificationRow.deadline).asc(), col(NotificationRow.created_at).desc())
             .limit(limit))
    return session.exec(query).all()


def one_of_school(session: Session, urn: str, notification_id: uuid.UUID) -> NotificationRow | None:
    row = session.get(NotificationRow, notification_id)
    if row is None or row.recipient_id != urn or row.kind != NotificationKind.DA_INCIDENT:
        return None
    return row


def acknowledge(session: Session, row: NotificationRow, *, by: str, now: datetime, source_uri: str) -> bool:
    """Record the acknowledgement and its event; False when it was already
    acknowledged (the first acknowledgement stands)."""
    if row.acknowledged_at is not None:
        return False
    row.acknowledged_at, row.acknowledged_by = now, by
    session.add(row)
    contact_id, child_id = about(row)
    emit(session, source_uri=source_uri, topic=NOTIFICATIONS_ACKNOWLEDGED, key=row.notification_id, time=now, now=now,
         data=NotificationAcknowledged(notification_id=row.notification_id, kind=NotificationKind(row.kind),
                                       recipient=row.recipient_id, acknowledged_by=by, acknowledged_at=now,
                                       deadline=row.deadline, before_deadline=before(now, row.deadline),
                                       contact_id=contact_id, child_id=child_id))
    return True


def before(at: datetime, deadline: datetime | None) -> bool | None:
    return None if deadline is None else at < deadline
