"""JSON views of cases for the agenda, the board and the timeline: ids,
codes and dates only (no names, no free text)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .domain.calendar import BankHolidays
from .domain.cases import Case
from .domain.meetings import AgendaItem
from .models import TimelineEntry


def case_view(case: Case, now: datetime, bank_holidays: BankHolidays) -> dict[str, Any]:
    allocation = case.allocation
    return {
        "case_id": str(case.case_id), "family_id": str(case.family_id), "source": case.source.value,
        "status": case.status.value, "level_of_need": int(case.level_of_need) if case.level_of_need else None,
        "concerns": [c.value for c in case.concerns],
        "headline_problems": [h.value for h in case.headline_problems],
        "children": len(case.child_ids), "started_at": case.started_at.isoformat(), "due_at": case.due_at.isoformat(),
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


def agenda_view(meeting_at: datetime, items: Sequence[AgendaItem[Case]], now: datetime,
                bank_holidays: BankHolidays) -> dict[str, Any]:
    return {
        "meeting_at": meeting_at.isoformat(),
        "cases": [{**case_view(item.case, now, bank_holidays), "days_left": item.days_left,
                   "allocate_before_meeting": item.allocate_before_meeting} for item in items],
    }


def timeline_view(entries: Sequence[TimelineEntry]) -> list[dict[str, Any]]:
    return [{"at": e.at.isoformat(), "kind": e.kind, **e.detail} for e in entries]
