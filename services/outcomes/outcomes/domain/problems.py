"""A family's headline problems on a given day, from the evidence it has
(the Troubled Families framework's six): each counts while its evidence is
recent (the lookback) or, for worklessness, while it lasts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta

from frontdoor_contracts.vocabulary import EmploymentStatus, HeadlineProblem, OffenceKind

from .family import Attendance, Family
from .thresholds import Thresholds


def terms_of(family: Family, child: uuid.UUID, on: date) -> list[Attendance]:
    """A child's terms known on `on`, oldest first (one per year and term)."""
    return sorted((a for a in family.attendance.values() if a.person_id == child and a.measure.term_starts_on <= on),
                  key=lambda a: a.measure.term_starts_on)


def attendance_ok(terms: Iterable[Attendance], th: Thresholds) -> bool:
    """Fewer than the threshold's fixed-term exclusions, under its share of
    unauthorised absence across these terms, and no permanent exclusion."""
    window = list(terms)
    sessions = sum(t.measure.sessions_possible for t in window)
    absent = sum(t.measure.unauthorised_absences for t in window)
    exclusions = sum(t.measure.fixed_term_exclusions for t in window)
    return (not any(t.measure.permanently_excluded for t in window) and exclusions < th.fixed_term_exclusions
            and (sessions == 0 or absent / sessions < th.unauthorised_absence_share))


def attendance_problem(family: Family, on: date, th: Thresholds) -> bool:
    since = on - timedelta(days=th.lookback_days)
    for child in family.children:
        recent = [t for t in terms_of(family, child, on) if t.measure.term_starts_on >= since]
        if recent and not attendance_ok(recent[-th.attendance_terms:], th):
            return True
    return False


def workless(family: Family, on: date) -> bool:
    return any(e.measure.starts_on <= on and (e.measure.ends_on is None or on <= e.measure.ends_on)
               and (e.measure.out_of_work_benefit or e.measure.status is EmploymentStatus.UNEMPLOYED)
               for e in family.employment.values())


def headline_problems(family: Family, on: date, th: Thresholds) -> set[HeadlineProblem]:
    since = on - timedelta(days=th.lookback_days)

    def recent(days: Iterable[date]) -> bool:
        return any(since <= day <= on for day in days)

    found = set()
    if recent(o.measure.occurred_on for o in family.offences.values()):
        found.add(HeadlineProblem.CRIME_ASB)
    if attendance_problem(family, on, th):
        found.add(HeadlineProblem.SCHOOL_ATTENDANCE)
    if recent(family.needs_help.values()):
        found.add(HeadlineProblem.CHILDREN_IN_NEED)
    if workless(family, on):
        found.add(HeadlineProblem.WORKLESSNESS)
    if recent(family.da_incidents.values()):
        found.add(HeadlineProblem.DOMESTIC_ABUSE)
    if recent(h.measure.identified_on for h in family.health.values()):
        found.add(HeadlineProblem.HEALTH)
    return found


def offences_between(family: Family, start: date, end: date, *, kind: OffenceKind,
                     youth: bool | None = None) -> int:
    """Offences of `kind` (youth or adult, or either) in [start, end)."""
    return sum(1 for o in family.offences.values()
               if o.measure.kind is kind and start <= o.measure.occurred_on < end
               and (youth is None or o.measure.youth is youth))
