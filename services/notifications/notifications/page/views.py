"""What the page shows of notifications: times as people at the school read
them (Europe/London: the kit's `london`), one line of the list, one
notification's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from frontdoor_platform.staff import london

from ..domain.schools import SchoolNotice, notice_for
from ..models import NotificationRow


def _day(day: date | None) -> str:
    return "not known" if day is None else f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Listed:
    """One line of the school's list."""

    notification_id: str
    child: str | None  # None once erased
    deadline: str
    deadline_iso: str
    state: str
    acknowledged: bool


@dataclass(frozen=True)
class Shown:
    """One notification, as its page shows it."""

    notification_id: str
    notice: SchoolNotice | None  # None once erased
    date_of_birth: str
    incident_at: str
    present: str
    deadline: str
    state: str
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_at: str | None


def _state(row: NotificationRow, now: datetime) -> str:
    if row.acknowledged_at is not None:
        return "Acknowledged"
    if row.deadline is not None and row.deadline <= now:
        return "Not acknowledged: the deadline has passed"
    return "Not acknowledged"


def _notice(row: NotificationRow, mash_contact: str) -> SchoolNotice | None:
    if (row.erased_at is not None or row.given_name is None or row.family_name is None or row.incident_at is None
            or row.police_reference is None or row.child_present is None):
        return None
    return notice_for(given_name=row.given_name, family_name=row.family_name, date_of_birth=row.date_of_birth,
                      upn=row.upn, incident_at=row.incident_at, police_reference=row.police_reference,
                      present=row.child_present, mash_contact=mash_contact)


def listed(row: NotificationRow, now: datetime) -> Listed:
    erased = row.erased_at is not None or row.given_name is None
    return Listed(str(row.notification_id), None if erased else f"{row.given_name} {row.family_name}",
                  london(row.deadline), row.deadline.isoformat() if row.deadline else "", _state(row, now),
                  row.acknowledged_at is not None)


def shown(row: NotificationRow, now: datetime, mash_contact: str) -> Shown:
    notice = _notice(row, mash_contact)
    present = ""
    if notice is not None:
        present = ("Present at the incident" if notice.child_present
                   else "Not present at the incident; normally resident at the address")
    return Shown(str(row.notification_id), notice, _day(notice.date_of_birth if notice else None),
                 london(notice.incident_at if notice else None), present, london(row.deadline), _state(row, now),
                 row.acknowledged_at is not None, row.acknowledged_by,
                 london(row.acknowledged_at) if row.acknowledged_at else None)
