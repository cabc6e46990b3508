"""JSON views of cases for the agenda, the board and the timeline, and a
case as a privacy request's export shows it: ids, codes and dates only (no
names, no free text)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .domain.calendar import BankHolidays
from .domain.caseloads import Caseload, HeldCase
from .domain.cases import Case
from .domain.meetings import AgendaItem
from .models import FamilyAlias, TimelineEntry


def case_view(case: Case, now: datetime, bank_holidays: BankHolidays) -> dict[str, Any]:
    allocation = case.allocation
    return {
        "case_id": str(case.case_id), "family_id": str(case.family_id), "source": case.source.value,
        "status": case.status.value, "level_of_need": int(case.level_of_need) if case.level_of_need else None,
        "concerns": [c.value for c in case.concerns],
        "headline_problems": [h.value for h in case.headline_problems],
        "referrer_sources": referrer_sources(case), "children": len(case.child_ids), "ages": ages(case),
        "started_at": case.started_at.isoformat(), "due_at": case.due_at.isoformat(),
        "target_days": case.target_days, "target_calendar": case.target_calendar.value,
        "days_waiting": case.days_waiting(now, bank_holidays),
        "days_left": case.days_left(now, bank_holidays) if case.awaiting_offer else None,
        "overdue": case.is_overdue(now),
        "lead_agency_id": allocation.lead_agency_id if allocation else None,
        "agency_kind": allocation.agency_kind.value if allocation else None,
        "lead_professional_ref": allocation.lead_professional_ref if allocation else None,
        "offered_at": case.offered_at.isoformat() if case.offered_at else None,
        "days_taken": case.days_taken(bank_holidays), "within_target": case.within_target,
        "answer": case.answer.value if case.answer else None,
        "closed_at": case.closure.closed_at.isoformat() if case.closure else None,
        "outcome": case.closure.outcome.value if case.closure else None,
    }


def referrer_sources(case: Case) -> list[str]:
    """Who made the contacts that brought the case, each once, in the order they came (codes)."""
    return list(dict.fromkeys(t.referrer_source for t in case.triggers if t.referrer_source))


def ages(case: Case) -> list[int | None]:
    """The case's children's ages in years, oldest first (None: not known), each as the latest decision told it."""
    known: dict[uuid.UUID, int] = {}
    for trigger in sorted(case.triggers, key=lambda t: t.occurred_at):
        known.update(trigger.child_ages)
    return sorted((known.get(child) for child in case.child_ids), key=lambda age: (age is None, -(age or 0)))


def caseload_summary(load: Caseload) -> dict[str, Any]:
    return {"open_cases": load.open_cases, "offers_outstanding": load.offers_outstanding,
            "awaiting_answer": load.awaiting_answer, "closed_this_quarter": load.closed_this_quarter,
            "closed_by_outcome": {outcome.value: n for outcome, n in load.closed_by_outcome.items()}}


def professionals(loads: Mapping[str, Caseload]) -> list[dict[str, Any]]:
    return [{"lead_professional_ref": ref, **caseload_summary(load)} for ref, load in loads.items()]


def held_view(held: HeldCase, now: datetime, bank_holidays: BankHolidays) -> dict[str, Any]:
    return {**case_view(held.case, now, bank_holidays), "days_since_allocation": held.days_since_allocation,
            "offer_outstanding": held.offer_outstanding}


def agenda_view(meeting_at: datetime, items: Sequence[AgendaItem[Case]], now: datetime,
                bank_holidays: BankHolidays) -> dict[str, Any]:
    return {
        "meeting_at": meeting_at.isoformat(),
        "cases": [{**case_view(item.case, now, bank_holidays), "days_left": item.days_left,
                   "allocate_before_meeting": item.allocate_before_meeting} for item in items],
    }


def timeline_view(entries: Sequence[TimelineEntry]) -> list[dict[str, Any]]:
    return [{"at": e.at.isoformat(), "kind": e.kind, **e.detail} for e in entries]


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def case_export(case: Case, timeline: Sequence[TimelineEntry]) -> dict[str, Any]:
    """A case whole, as a subject access export shows it: what brought it (each trigger's event, contact,
    referrer source and children by id), its status, agency and lead professional (a staff reference, as the
    API shows it), its times and its timeline."""
    allocation, closure = case.allocation, case.closure
    return {
        "table": "cases", "case_id": str(case.case_id), "family_id": str(case.family_id),
        "source": case.source.value, "status": case.status.value,
        "level_of_need": int(case.level_of_need) if case.level_of_need else None,
        "concerns": [c.value for c in case.concerns], "headline_problems": [h.value for h in case.headline_problems],
        "child_ids": [str(c) for c in case.child_ids],
        "started_at": case.started_at.isoformat(), "due_at": case.due_at.isoformat(),
        "opened_at": case.opened_at.isoformat(), "target_days": case.target_days,
        "target_calendar": case.target_calendar.value,
        "triggers": [{"source": t.source.value, "event_id": t.event_id, "occurred_at": t.occurred_at.isoformat(),
                      "contact_id": str(t.contact_id) if t.contact_id else None,
                      "decision": t.decision.value if t.decision else None,
                      "referrer_source": t.referrer_source,
                      "child_ids": [str(c) for c in t.child_ids]} for t in case.triggers],
        "lead_agency_id": allocation.lead_agency_id if allocation else None,
        "agency_kind": allocation.agency_kind.value if allocation else None,
        "lead_professional_ref": allocation.lead_professional_ref if allocation else None,
        "allocated_at": _at(allocation.allocated_at if allocation else None),
        "offered_at": _at(case.offered_at), "answer": case.answer.value if case.answer else None,
        "answered_at": _at(case.answered_at), "stepped_up_at": _at(case.stepped_up_at),
        "closed_at": _at(closure.closed_at if closure else None),
        "outcome": closure.outcome.value if closure else None,
        "merged_into": str(case.merged_into) if case.merged_into else None,
        "timeline": timeline_view(timeline),
    }


def alias_export(alias: FamilyAlias) -> dict[str, Any]:
    return {"table": "family_aliases", "merged_family_id": str(alias.merged_family_id),
            "family_id": str(alias.family_id), "merged_at": alias.merged_at.isoformat()}
