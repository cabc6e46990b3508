"""Which school a child's notification goes to, and what it says.

The school: the URN on the event, else the school the child's latest
enrolment (by UPN) names, else unknown (the MASH worklist, never dropped).
A child not of school age and in no registered setting is recorded as such
and no school is told. The school gets only what its key adult needs to
support the child that morning: the child's name, date of birth and UPN,
when the incident happened, that police attended, the police reference,
whether the child was present, and how to reach the MASH. Never the
narrative, the adults, other concerns or other children."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

SCHOOL_AGE_FROM = 2  # early years settings take children from two
SCHOOL_AGE_UNTIL = 19  # sixth forms and special schools to nineteen


class Resolution(StrEnum):
    """What became of a DA incident's child: its school found (on the event, by enrolment), not found, not of
    school age; or, before its sealed fields could be opened, the child erased (its key gone: nobody is told)
    or its sealed fields unreadable (they do not open with its key: the record's fault)."""

    ON_EVENT = "on_event"
    BY_ENROLMENT = "by_enrolment"
    UNKNOWN = "unknown"
    NOT_OF_SCHOOL_AGE = "not_of_school_age"
    ERASED = "erased"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Enrolment:
    upn: str
    school_urn: str
    starts_on: date
    ends_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class SchoolFound:
    resolution: Resolution
    school_urn: str | None = None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def find_school(*, urn: str | None, upn: str | None, born: date | None, on: date,
                enrolments: Iterable[Enrolment]) -> SchoolFound:
    if urn:
        return SchoolFound(Resolution.ON_EVENT, urn)
    current = sorted((e for e in enrolments if upn and e.upn == upn and e.covers(on)),
                     key=lambda e: e.starts_on)
    if current:
        return SchoolFound(Resolution.BY_ENROLMENT, current[-1].school_urn)
    if born is not None and not SCHOOL_AGE_FROM <= age_on(born, on) < SCHOOL_AGE_UNTIL:
        return SchoolFound(Resolution.NOT_OF_SCHOOL_AGE)
    return SchoolFound(Resolution.UNKNOWN)


@dataclass(frozen=True)
class SchoolNotice:
    """All a school is told about one child and one incident."""

    given_name: str
    family_name: str
    date_of_birth: date | None
    upn: str | None
    incident_at: datetime
    police_attended: bool
    police_reference: str
    child_present: bool
    mash_contact: str


def notice_for(*, given_name: str, family_name: str, date_of_birth: date | None, upn: str | None,
               incident_at: datetime, police_reference: str, present: bool, mash_contact: str) -> SchoolNotice:
    return SchoolNotice(given_name, family_name, date_of_birth, upn, incident_at, True, police_reference, present,
                        mash_contact)
