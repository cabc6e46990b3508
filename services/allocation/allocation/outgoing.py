"""Domain objects in, contract events out: what the allocation service says
about a case, built from the domain `Case`. Pure."""

from __future__ import annotations

from typing import Any

from frontdoor_contracts.allocation import (
    CaseAllocated,
    CaseClosed,
    CaseOpened,
    OfferAnswered,
    OfferDueSoon,
    OfferMade,
    OfferOverdue,
    SteppedUp,
)
from frontdoor_contracts.vocabulary import CaseStatus

from .domain.calendar import BankHolidays
from .domain.cases import Case
from .domain.sla import SlaEvent


def _common(case: Case) -> dict[str, Any]:
    return {"case_id": case.case_id, "family_id": case.family_id, "source": case.source,
            "started_at": case.started_at, "due_at": case.due_at}


def _agency(case: Case) -> dict[str, Any]:
    if case.allocation is None:
        return {}
    return {"lead_agency_id": case.allocation.lead_agency_id, "agency_kind": case.allocation.agency_kind}


def case_opened(case: Case) -> CaseOpened:
    first = case.triggers[0]
    return CaseOpened(
        **_common(case), opened_at=case.opened_at, child_ids=list(case.child_ids), contact_id=first.contact_id,
        decision=first.decision, level_of_need=case.level_of_need, concerns=list(case.concerns),
        headline_problems=list(case.headline_problems), target_days=case.target_days,
        target_calendar=case.target_calendar,
    )


def case_allocated(case: Case) -> CaseAllocated:
    assert case.allocation is not None
    a = case.allocation
    return CaseAllocated(**_common(case), allocated_at=a.allocated_at, lead_agency_id=a.lead_agency_id,
                         agency_kind=a.agency_kind, lead_professional_ref=a.lead_professional_ref,
                         allocated_by=a.allocated_by, at_meeting=a.at_meeting)


def offer_made(case: Case, bank_holidays: BankHolidays) -> OfferMade:
    assert case.offered_at is not None
    return OfferMade(**_common(case), **_agency(case), offered_at=case.offered_at,
                     days_taken=case.days_taken(bank_holidays) or 0, target_calendar=case.target_calendar,
                     within_target=bool(case.within_target))


def offer_answered(case: Case) -> OfferAnswered:
    assert case.answer is not None and case.offered_at is not None and case.answered_at is not None
    return OfferAnswered(**_common(case), **_agency(case), answer=case.answer, offered_at=case.offered_at,
                         answered_at=case.answered_at)


def stepped_up(case: Case, status_before: CaseStatus, recorded_by: str) -> SteppedUp:
    assert case.stepped_up_at is not None
    return SteppedUp(**_common(case), **_agency(case), stepped_up_at=case.stepped_up_at, status_before=status_before,
                     recorded_by=recorded_by)


def case_closed(case: Case) -> CaseClosed:
    assert case.closure is not None
    c = case.closure
    return CaseClosed(**_common(case), **_agency(case), closed_at=c.closed_at, outcome=c.outcome,
                      child_ids=list(case.child_ids), closed_by=c.closed_by)


def sla_event(case: Case, kind: SlaEvent) -> OfferDueSoon | OfferOverdue:
    model = OfferDueSoon if kind is SlaEvent.DUE_SOON else OfferOverdue
    return model(**_common(case), **_agency(case), status=case.status)
