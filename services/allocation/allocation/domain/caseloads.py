"""Caseloads: the cases an agency, or one of its lead professionals, holds.

A caseload counts the open cases allocated to it (allocated, offer made,
accepted), how long each has been held (days of the case's own target
calendar since its allocation, in Europe/London dates), the offers
outstanding (allocated, no offer made yet: the 10-day promise is still the
agency's to keep), the offers waiting for the family's answer, and the cases
it closed this quarter by outcome. Quarters are the calendar's (January,
April, July, October: a council's financial quarters start on the same
days), on Europe/London dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from frontdoor_contracts.vocabulary import CaseStatus, ClosureOutcome

from .calendar import LONDON, BankHolidays, days_between, local_date
from .cases import Case


def quarter_start(today: date) -> date:
    """The first day of the calendar quarter `today` is in."""
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def quarter_began(now: datetime) -> datetime:
    """The instant (UTC) this quarter began: local midnight of its first day."""
    return datetime.combine(quarter_start(local_date(now)), time(0), tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True)
class HeldCase:
    case: Case
    days_since_allocation: int
    offer_outstanding: bool
    """Allocated and no offer made yet."""


@dataclass(frozen=True)
class Caseload:
    cases: tuple[HeldCase, ...] = ()
    """The open cases, longest held first."""
    closed_by_outcome: dict[ClosureOutcome, int] = field(default_factory=dict)

    @property
    def open_cases(self) -> int:
        return len(self.cases)

    @property
    def offers_outstanding(self) -> int:
        return sum(held.offer_outstanding for held in self.cases)

    @property
    def awaiting_answer(self) -> int:
        return sum(held.case.status is CaseStatus.OFFER_MADE for held in self.cases)

    @property
    def closed_this_quarter(self) -> int:
        return sum(self.closed_by_outcome.values())


def held(case: Case, now: datetime, bank_holidays: BankHolidays | None = None) -> HeldCase:
    if case.allocation is None:
        raise ValueError(f"case {case.case_id} has no allocation: it is in no caseload")
    since = days_between(local_date(case.allocation.allocated_at), local_date(now), case.target_calendar,
                         bank_holidays)
    return HeldCase(case, since, case.status is CaseStatus.ALLOCATED)


def caseload(open_cases: Iterable[Case], closed: Iterable[Case], *, now: datetime,
             bank_holidays: BankHolidays | None = None) -> Caseload:
    """The caseload of these cases: the open ones allocated, and the closures since this quarter began."""
    since = quarter_start(local_date(now))
    cases = sorted((held(c, now, bank_holidays) for c in open_cases if c.is_open and c.allocation is not None),
                   key=lambda h: (-h.days_since_allocation, h.case.started_at, h.case.case_id))
    outcomes: dict[ClosureOutcome, int] = {}
    for case in closed:
        if case.closure is not None and local_date(case.closure.closed_at) >= since:
            outcomes[case.closure.outcome] = outcomes.get(case.closure.outcome, 0) + 1
    return Caseload(tuple(cases), dict(sorted(outcomes.items())))


def group_by(open_cases: Iterable[Case], closed: Iterable[Case], *,
             professional: bool) -> dict[str, tuple[list[Case], list[Case]]]:
    """The open and the closed cases of each lead agency (or, with `professional`, of each lead
    professional), sorted by its id."""
    groups: dict[str, tuple[list[Case], list[Case]]] = {}
    for index, cases in enumerate((open_cases, closed)):
        for case in cases:
            if case.allocation is None:
                continue
            allocation = case.allocation
            key = allocation.lead_professional_ref if professional else allocation.lead_agency_id
            groups.setdefault(key, ([], []))[index].append(case)
    return dict(sorted(groups.items()))


def split_by(open_cases: Iterable[Case], closed: Iterable[Case], *, professional: bool,
             now: datetime, bank_holidays: BankHolidays | None = None) -> dict[str, Caseload]:
    """One caseload per lead agency (or, with `professional`, per lead professional), sorted by its id."""
    return {key: caseload(o, c, now=now, bank_holidays=bank_holidays)
            for key, (o, c) in group_by(open_cases, closed, professional=professional).items()}
