"""The API's bodies, declared so a generated client knows them (the views
build them; FastAPI checks them against these). Ids, codes and dates only."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseView(Body):
    case_id: uuid.UUID
    family_id: uuid.UUID
    source: str
    status: str
    level_of_need: int | None
    concerns: list[str]
    headline_problems: list[str]
    referrer_sources: list[str]
    children: int
    ages: list[int | None] = Field(description="The children's ages in whole years on the day of the decision, "
                                               "oldest first; null for a child whose age is not known")
    started_at: datetime
    due_at: datetime
    target_days: int
    target_calendar: str
    days_waiting: int
    days_left: int | None
    overdue: bool
    lead_agency_id: str | None
    agency_kind: str | None
    lead_professional_ref: str | None
    offered_at: datetime | None
    days_taken: int | None
    within_target: bool | None
    answer: str | None
    closed_at: datetime | None
    outcome: str | None


class AgendaCase(CaseView):
    allocate_before_meeting: bool


class Agenda(Body):
    meeting_at: datetime
    cases: list[AgendaCase]


class Board(Body):
    cases: list[CaseView]


class TimelineEntry(BaseModel):
    """`at` and `kind`, and what that kind of entry records (ids and codes)."""

    model_config = ConfigDict(extra="allow")
    at: datetime
    kind: str


class CaseWithTimeline(CaseView):
    timeline: list[TimelineEntry]


class Leads(Body):
    lead_organisations_by_kind: dict[str, int]



class StatusGroup(Body):
    status: str
    cases: list[CaseView]


class MeetingBoard(Body):
    """The next meeting, its agenda (None for an agency: unallocated cases are nobody's yet) and the open
    cases the caller may see, by status."""

    meeting_at: datetime
    agenda: list[AgendaCase] | None
    open_by_status: list[StatusGroup]


class CaseloadCounts(Body):
    open_cases: int
    offers_outstanding: int
    awaiting_answer: int
    closed_this_quarter: int
    closed_by_outcome: dict[str, int]


class ProfessionalCounts(CaseloadCounts):
    lead_professional_ref: str


class AgencyCounts(CaseloadCounts):
    lead_agency_id: str
    lead_professionals: list[ProfessionalCounts]


class Caseloads(Body):
    quarter_start: date
    agencies: list[AgencyCounts]


class HeldCaseView(CaseView):
    days_since_allocation: int
    offer_outstanding: bool


class Caseload(CaseloadCounts):
    lead_agency_id: str
    lead_professional_ref: str | None
    quarter_start: date
    lead_professionals: list[ProfessionalCounts]
    cases: list[HeldCaseView]
