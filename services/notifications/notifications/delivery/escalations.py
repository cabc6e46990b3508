"""Escalation to the MASH, once per notification (`escalated_at`): after a
delivery's last failure (`results.py`), or when the notification is still
undelivered `escalation_margin_minutes` before its deadline (`escalate_due`;
then the loop keeps trying to deliver). It sets `escalated_at`, emits
DeliveryFailed and puts a `delivery_failed` item on the MASH worklist: a
person phones the recipient. A notification created already inside the
margin gets its first attempt (or a lease period) first, so a fast webhook
is not escalated for nothing. A delivery the MASH sent again that fails for
good again is not escalated again: its worklist item, if resolved, is
opened again (`back_on_worklist`). Logs carry ids and reasons only."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import Channel, DeliveryFailed, FailureReason, NotificationKind
from frontdoor_contracts.topics import NOTIFICATIONS_DELIVERY_FAILED
from frontdoor_platform.database import for_writing

from ..models import DeliveryRow, NotificationRow, WorklistRow
from ..outgoing import about
from ..settings import Settings
from .queue import PENDING, WORKLIST_KIND, Emitter, worklist_item_id

log = logging.getLogger("notifications.delivery")
SWEEP = 500  # notifications escalated by one pass at most


def escalate(session: Session, emit: Emitter, note: NotificationRow, row: DeliveryRow, reason: FailureReason,
             now: datetime) -> str:
    """Escalate `note` now, in the caller's transaction; the reason (a metric's label)."""
    note.escalated_at = now
    session.add(note)
    item_id = worklist_item_id(note.notification_id)
    if session.get(WorklistRow, item_id) is None:
        da = note.kind == NotificationKind.DA_INCIDENT
        session.add(WorklistRow(item_id=item_id, kind=WORKLIST_KIND, reason=reason.value,
                                contact_id=note.subject_id if da else None, child_id=note.child_id,
                                notification_id=note.notification_id, recipient_id=note.recipient_id,
                                created_at=now))
    contact_id, child_id = about(note)
    data = DeliveryFailed(notification_id=note.notification_id, kind=NotificationKind(note.kind),
                          recipient=note.recipient_id, channel=Channel(row.channel), reason=reason,
                          attempts=row.attempts, deadline=note.deadline, escalated_at=now, contact_id=contact_id,
                          child_id=child_id)
    emit(session, NOTIFICATIONS_DELIVERY_FAILED, note.notification_id, data, now)
    log.warning("delivery escalated to the MASH", extra={"notification_id": str(note.notification_id),
                                                         "reason": reason.value, "attempts": row.attempts})
    return reason.value


def back_on_worklist(session: Session, note: NotificationRow, reason: FailureReason) -> None:
    """Sent again by the MASH and failed for good again: its worklist item, if resolved, is open again."""
    item = session.get(WorklistRow, worklist_item_id(note.notification_id))
    if item is not None and item.resolved_at is not None:
        item.resolved_at, item.resolved_by, item.reason = None, None, reason.value
        session.add(item)
        log.warning("delivery sent again failed for good; back on the MASH worklist",
                    extra={"notification_id": str(note.notification_id), "reason": reason.value})


def escalate_due(engine: Engine, emit: Emitter, settings: Settings, now: datetime) -> list[str]:
    """Escalate (once) what is still undelivered inside the margin before
    its deadline and has had its first attempt, or a lease period for it;
    the reasons, one per notification escalated. Blocking: call in a
    thread."""
    margin = timedelta(minutes=settings.escalation_margin_minutes)
    first_chance = now - timedelta(seconds=settings.delivery_lease_seconds)
    query = (select(NotificationRow, DeliveryRow)
             .join(DeliveryRow, col(DeliveryRow.notification_id) == col(NotificationRow.notification_id))
             .where(col(DeliveryRow.state) == PENDING, col(NotificationRow.escalated_at).is_(None),
                    col(NotificationRow.deadline).is_not(None), col(NotificationRow.deadline) <= now + margin,
                    or_(col(DeliveryRow.attempts) > 0, col(NotificationRow.created_at) <= first_chance)))
    with Session(engine) as session:
        if session.exec(query.limit(1)).first() is None:
            return []  # the usual case: no write transaction at all
    escalated: list[str] = []
    with Session(for_writing(engine), expire_on_commit=False) as session:
        for note, row in session.exec(query.limit(SWEEP).with_for_update(skip_locked=True)).all():
            escalated.append(escalate(session, emit, note, row, FailureReason.DEADLINE_NEAR, now))
        session.commit()
    return escalated
