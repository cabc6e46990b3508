"""What the notifications service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows and
discarded parked rows):

- a notification's personal data (the child's name, date of birth, UPN,
  the police reference, the incident), erased the notifications class's
  period after acknowledgement, or after it was made when never
  acknowledged (`timers.erase_expired`, the rule the timers also run);
- enrolments that ended the enrolments class's period ago (current ones,
  without an end, are kept).

`check_settings` refuses a NOTIFICATIONS_RETENTION_DAYS that is not the
schedule's figure, so the timers and the purge keep one period. The read log is
purged here too, after the read_log class's period."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from frontdoor_contracts.retention import ENROLMENTS, NOTIFICATIONS, Schedule
from frontdoor_platform.purge import Purge, as_utc, delete_rows, read_log_purge
from frontdoor_platform.service import Plumbing

from .models import READ_LOG, EnrolmentRow, NotificationRow
from .settings import Settings
from .timers import erase_expired


def check_settings(settings: Settings, schedule: Schedule) -> None:
    if settings.retention_days != schedule.of(NOTIFICATIONS).days:
        raise ValueError("NOTIFICATIONS_RETENTION_DAYS must equal the retention schedule's notifications days "
                         f"({schedule.origin})")


def erase_notifications(session: Session, cutoff: datetime, limit: int) -> int:
    return erase_expired(session, cutoff, timedelta(0))  # its own batch (timers.BATCH)


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


PURGES = (Purge(NOTIFICATIONS, erase_notifications, oldest_notification),
          Purge(ENROLMENTS, delete_enrolments, oldest_enrolment))


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    return (*PURGES, read_log_purge(READ_LOG))
