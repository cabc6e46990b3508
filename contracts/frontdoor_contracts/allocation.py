"""Allocation events: a step-down from social care coming in, and the life of
an allocation case (SPA decision to an offer of Early Help) going out.

Every case event carries the case, the family, what opened the case, when the
clock started (the SPA decision time, event time) and the target date. No
names and no free text: agencies and lead professionals by identifier only."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Self, TypeVar

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from .caps import MAX_CHILDREN, MAX_CONCERNS
from .envelope import EventData
from .vocabulary import (
    AgencyKind,
    CaseSource,
    CaseStatus,
    ClosureOutcome,
    Concern,
    Decision,
    HeadlineProblem,
    LevelOfNeed,
    OfferAnswer,
    TargetCalendar,
)

# Case ids are derived from the event that opened the case, so a redelivered
# trigger maps to the same case id.
CASE_ID_NAMESPACE = uuid.UUID("0d5b8f3e-6a21-4c7e-8f90-2b4d1c6e9a37")

# An identifier, never a name: no spaces, so "Jane Smith" cannot be put here.
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
]
StaffRef = Identifier
AgencyId = Identifier


def case_id_for(source: str, event_id: str) -> uuid.UUID:
    """The case opened by the event `event_id` from `source` (the CloudEvent's source and id)."""
    return uuid.uuid5(CASE_ID_NAMESPACE, f"{source}\n{event_id}")


T = TypeVar("T")


def _unique(values: list[T], what: str) -> list[T]:
    if len(set(values)) != len(values):
        raise ValueError(f"each {what} must appear once")
    return values


class StepDownRequested(EventData):
    """frontdoor.step-downs.v1: social care steps a family down to Early Help. Published by a case system;
    the allocation clock starts at `stepped_down_at`."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.step-down.requested.v1"

    family_id: uuid.UUID = Field(description="The family id from contacts.decided.v1 of the referral")
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_CHILDREN)
    contact_id: uuid.UUID | None = Field(default=None, description="The contact that led to social care, if known")
    level_of_need: LevelOfNeed
    concerns: list[Concern] = Field(min_length=1, max_length=MAX_CONCERNS, description="Each concern once",
                                  json_schema_extra={"uniqueItems": True})
    stepped_down_at: AwareDatetime = Field(description="When social care decided to step the family down")
    decided_by: StaffRef = Field(description="Staff identifier of the decision maker (never a name)")

    @field_validator("child_ids")
    @classmethod
    def _children_unique(cls, child_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return _unique(child_ids, "child id")

    @field_validator("concerns")
    @classmethod
    def _concerns_once(cls, concerns: list[Concern]) -> list[Concern]:
        return _unique(concerns, "concern")


class CaseEvent(EventData):
    """Fields every allocation case event carries (not an event itself)."""

    case_id: uuid.UUID
    family_id: uuid.UUID
    source: CaseSource = Field(description="What opened the case")
    started_at: AwareDatetime = Field(description="The SPA decision (or step-down, or identification) time")
    due_at: AwareDatetime = Field(
        description="The target: an offer before this instant (the end of the due date, Europe/London)"
    )

    @model_validator(mode="after")
    def _due_after_start(self) -> Self:
        if self.due_at < self.started_at:
            raise ValueError("due_at must not be before started_at")
        return self


class CaseOpened(CaseEvent):
    """allocation.case-opened.v1: a family's allocation case is open; it goes to the next allocations meeting."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.case-opened.v1"

    opened_at: AwareDatetime
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_CHILDREN)
    contact_id: uuid.UUID | None = Field(default=None, description="The contact decided, for a decision trigger")
    decision: Decision | None = Field(default=None, description="The MASH decision, for a decision trigger")
    level_of_need: LevelOfNeed | None = Field(default=None, description="Unknown for a family identified in data")
    concerns: list[Concern] = Field(default_factory=list)
    headline_problems: list[HeadlineProblem] = Field(default_factory=list)
    target_days: int = Field(ge=1, le=365)
    target_calendar: TargetCalendar

    @field_validator("child_ids")
    @classmethod
    def _children_unique(cls, child_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return _unique(child_ids, "child id")


class CaseAllocated(CaseEvent):
    """allocation.case-allocated.v1: a lead agency and lead professional were allocated to the case."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.case-allocated.v1"

    allocated_at: AwareDatetime
    lead_agency_id: AgencyId
    agency_kind: AgencyKind
    lead_professional_ref: StaffRef = Field(description="Staff identifier of the lead professional (never a name)")
    allocated_by: StaffRef
    at_meeting: bool = Field(description="Allocated at the allocations meeting (otherwise between meetings)")


class OfferMade(CaseEvent):
    """allocation.offer-made.v1: the lead agency offered Early Help to the family."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.offer-made.v1"

    offered_at: AwareDatetime
    lead_agency_id: AgencyId
    agency_kind: AgencyKind
    days_taken: int = Field(ge=0, description="SPA decision to offer, in whole days of the case's target calendar")
    target_calendar: TargetCalendar
    within_target: bool = Field(description="offered_at is before due_at")


class OfferAnswered(CaseEvent):
    """allocation.offer-answered.v1: the family accepted or declined the offer (Early Help is consensual)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.offer-answered.v1"

    answer: OfferAnswer
    offered_at: AwareDatetime
    answered_at: AwareDatetime
    lead_agency_id: AgencyId
    agency_kind: AgencyKind


class SteppedUp(CaseEvent):
    """allocation.stepped-up.v1: the case was stepped up to children's social care."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.stepped-up.v1"

    stepped_up_at: AwareDatetime
    status_before: CaseStatus = Field(description="The case's status when it was stepped up")
    lead_agency_id: AgencyId | None = None
    agency_kind: AgencyKind | None = None
    recorded_by: StaffRef


WAITING_STATUSES = frozenset({CaseStatus.OPEN, CaseStatus.ALLOCATED})


class WaitingCaseEvent(CaseEvent):
    """A case still waiting for an offer (not an event itself)."""

    status: CaseStatus = Field(description="open or allocated")
    lead_agency_id: AgencyId | None = None
    agency_kind: AgencyKind | None = None

    @field_validator("status")
    @classmethod
    def _waiting(cls, status: CaseStatus) -> CaseStatus:
        if status not in WAITING_STATUSES:
            raise ValueError("status must be open or allocated: a case with an offer is not waiting")
        return status


class OfferDueSoon(WaitingCaseEvent):
    """allocation.offer-due-soon.v1: the case has no offer and its target date is near. Once per case."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.offer-due-soon.v1"


class OfferOverdue(WaitingCaseEvent):
    """allocation.offer-overdue.v1: the case passed its target date without an offer. Once per case."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.offer-overdue.v1"


class CaseClosed(CaseEvent):
    """allocation.case-closed.v1: the lead agency closed the case, with the outcome category. Once per case."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.case-closed.v1"

    closed_at: AwareDatetime
    outcome: ClosureOutcome
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_CHILDREN, description="The children of the case")
    lead_agency_id: AgencyId | None = None
    agency_kind: AgencyKind | None = None
    closed_by: StaffRef

    @field_validator("child_ids")
    @classmethod
    def _children_unique(cls, child_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return _unique(child_ids, "child id")
