"""What the notifications service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows and
discarded parked rows):

- a notification's personal data (the child's name, date of birth, UPN,
  the police reference, the incident), erased the notifications class's
  period after acknowledgement, or after it was made when never
  acknowledged (the rule `timers.erase_expired`; only this purge runs it),
  marked erased at the service's clock's now, and counted in
  `purged_rows_total{class="notifications"}` and `erased_total`;
- enrolments that ended the enrolments class's period ago (current ones,
  without an end, are kept);
- the DA children still waiting for their key the da_incidents class's
  period after their incident was read (`da_children_waiting`, the sealed
  incident as read): deleted, each on the MASH worklist (`key_missing`)
  first if the timers' sweep had not put it there (`waiting.purge`), counted
  in `purged_rows_total{class="da_incidents"}` and, escalated here,
  `key_missing_total`.

`check_settings` refuses a NOTIFICATIONS_RETENTION_DAYS that is not the
schedule's figure, so the timers and the purge keep one period. The read log is
purged here too, after the read_log class's period."""

from __future__ import annotations

from datetime import UTC, datetime, time

from prometheus_client import Counter
from sqlalchemy import func
from sqlmodel import Session, col, select

from frontdoor_contracts.retention import DA_INCIDENTS, ENROLMENTS, NOTIFICATIONS, Schedule
from frontdoor_platform.clock import Clock
from frontdoor_platform.purge import Delete, Purge, as_utc, delete_rows, earliest, read_log_purge
from frontdoor_platform.service import Plumbing

from . import waiting
from .metrics import Metrics
from .models import READ_LOG, EnrolmentRow, NotificationRow, WaitingChildRow
from .settings import Settings
from .timers import erase_expired


def check_settings(settings: Settings, schedule: Schedule) -> None:
    if settings.retention_days != schedule.of(NOTIFICATIONS).days:
        raise ValueError("NOTIFICATIONS_RETENTION_DAYS must equal the retention schedule's notifications days "
                         f"({schedule.origin})")


def notification_erasure(clock: Clock, erased: Counter | None = None) -> Delete:
    """The purge's delete for notifications: erase at most `limit` past the cutoff, marked erased at `clock()`
    (the cutoff is the period's start, not when the erasure is made); counted on `erased` too."""

    def erase(session: Session, cutoff: datetime, limit: int) -> int:
        now = clock()
        count = erase_expired(session, now, now - cutoff, limit)
        if erased is not None and count:
            erased.inc(count)
        return count

    return erase


def oldest_notification(session: Session) -> datetime | None:
    started = func.min(func.coalesce(col(NotificationRow.acknowledged_at), col(NotificationRow.created_at)))
    return as_utc(session.exec(select(started).where(col(NotificationRow.erased_at).is_(None))).one())


def delete_enrolments(session: Session, cutoff: datetime, limit: int) -> int:
    """Enrolments whose end day started at or before `cutoff` (UTC)."""
    ended = col(EnrolmentRow.ends_on)
    return delete_rows(session, EnrolmentRow, ended.is_not(None) & (ended <= cutoff.date()), limit)


def oldest_enrolment(session: Session) -> datetime | None:
    found = session.exec(select(func.min(col(EnrolmentRow.ends_on)))).one()
    if isinstance(found, str):  # an aggregate may come back without the column's type on SQLite
        found = datetime.fromisoformat(found).date()
    return None if found is None else datetime.combine(found, time(0), UTC)


def waiting_purge(clock: Clock, key_missing: Counter | None = None) -> Delete:
    """The purge's delete for the children waiting for their key; those it puts on the worklist counted on
    `key_missing` too."""

    def purge(session: Session, cutoff: datetime, limit: int) -> int:
        deleted, escalated = waiting.purge(session, cutoff, limit, clock())
        if key_missing is not None and escalated:
            key_missing.inc(escalated)
        return deleted

    return purge


def oldest_waiting(session: Session) -> datetime | None:
    return earliest(session, col(WaitingChildRow.received_at))


def service_purges(clock: Clock, metrics: Metrics | None = None) -> tuple[Purge, ...]:
    """Notifications' erasure, enrolments' deletion and the waiting children's (the read log's is the kit's)."""
    return (Purge(NOTIFICATIONS, notification_erasure(clock, metrics.erased if metrics else None),
                  oldest_notification),
            Purge(ENROLMENTS, delete_enrolments, oldest_enrolment),
            Purge(DA_INCIDENTS, waiting_purge(clock, metrics.key_missing if metrics else None), oldest_waiting))


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    metrics = parts.metrics if isinstance(parts.metrics, Metrics) else None
    return (*service_purges(parts.clock, metrics), read_log_purge(READ_LOG))
