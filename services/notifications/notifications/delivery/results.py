"""Recording a send's result, in ONE transaction: the attempt row and
either "delivered" (the delivery, the notification's `delivered_at` and the
NotificationDelivered event in the outbox), or the next attempt, with
backoff and jitter (the lease cleared), or "failed" (a refusal that
retrying will not change, or `delivery_max_attempts` failures) with the
escalation (`escalations.py`). Blocking: the loop calls it in a worker
thread.

A success is never followed by another send: it is marked in the same
transaction as its attempt row, and only a pending row is ever claimed. A
result that comes back after its lease ran out (another worker took the
row) is audited; a success still counts, anything else is left to the
worker holding the row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import Channel, FailureReason, NotificationDelivered, NotificationKind
from frontdoor_contracts.topics import NOTIFICATIONS_DELIVERED
from frontdoor_platform.database import for_writing

from ..domain.backoff import Backoff, Random
from ..models import DeliveryAttemptRow, DeliveryRow, NotificationRow
from ..outgoing import about
from ..settings import Settings
from .escalations import back_on_worklist, escalate
from .queue import DELIVERED, FAILED, PENDING, Emitter, Job, Recorded
from .senders import SendResult

log = logging.getLogger("notifications.delivery")


@dataclass(frozen=True)
class Results:
    """Records the results of one loop's sends."""

    engine: Engine
    emit: Emitter
    settings: Settings
    backoff: Backoff
    random: Random

    def record(self, job: Job, result: SendResult, now: datetime) -> Recorded | None:
        """The attempt and what follows from it; None when the row is gone."""
        with Session(for_writing(self.engine), expire_on_commit=False) as session:
            row = session.exec(select(DeliveryRow).where(col(DeliveryRow.notification_id) == job.notification_id)
                               .with_for_update()).first()
            if row is None:
                return None
            row.attempts += 1
            session.add(DeliveryAttemptRow(notification_id=row.notification_id, number=row.attempts, at=now,
                                           outcome=result.outcome, status=result.status,
                                           duration_ms=result.duration_ms))
            recorded = Recorded(row.channel, result.outcome)
            ours = row.leased_until == job.lease
            if not ours:  # the lease ran out during the send and another worker took the row
                log.warning("delivery lease ran out during the send",
                            extra={"notification_id": str(row.notification_id)})
            note = session.get(NotificationRow, row.notification_id)
            if row.state != PENDING or note is None:
                pass  # delivered or given up meanwhile (by another worker): this attempt is only audited
            elif result.delivered:  # a success counts whoever holds the lease now
                self._delivered(session, row, note, result, now, recorded)
            elif ours:  # else the worker holding the row decides what comes next
                self._failed(session, row, note, result, now, recorded)
            row.updated_at = now
            session.add(row)
            session.commit()
        return recorded

    def _failed(self, session: Session, row: DeliveryRow, note: NotificationRow, result: SendResult,
                now: datetime, recorded: Recorded) -> None:
        """Not delivered: given up (and escalated, once), or tried again after the backoff."""
        row.last_reason, row.last_status = result.outcome, result.status
        tries = row.attempts - row.attempts_before_retry
        if result.retryable and tries < self.settings.delivery_max_attempts:
            delay = self.backoff.full_jitter(tries, self.random)
            row.next_attempt_at, row.leased_until = now + timedelta(seconds=delay), None
            return
        row.state, row.leased_until = FAILED, None
        recorded.gave_up = result.outcome
        if note.escalated_at is None:
            recorded.escalated = escalate(session, self.emit, note, row, FailureReason(result.outcome), now)
        elif row.retried_at is not None:
            back_on_worklist(session, note, FailureReason(result.outcome))

    def _delivered(self, session: Session, row: DeliveryRow, note: NotificationRow, result: SendResult,
                   now: datetime, recorded: Recorded) -> None:
        row.state, row.leased_until, row.last_reason, row.last_status = DELIVERED, None, None, result.status
        note.delivered_at, note.delivered_channel = now, row.channel
        session.add(note)
        deadline = note.deadline
        before = None if deadline is None else now <= deadline
        recorded.delivered = True
        recorded.timing = "no_deadline" if before is None else "before_deadline" if before else "late"
        recorded.latency_seconds = max(0.0, (now - note.reported_at).total_seconds())
        contact_id, child_id = about(note)
        data = NotificationDelivered(notification_id=note.notification_id, kind=NotificationKind(note.kind),
                                     recipient=note.recipient_id, channel=Channel(row.channel), delivered_at=now,
                                     deadline=deadline, before_deadline=before, attempts=row.attempts,
                                     contact_id=contact_id, child_id=child_id)
        self.emit(session, NOTIFICATIONS_DELIVERED, note.notification_id, data, now)
