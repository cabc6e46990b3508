"""Events the outcomes service publishes: families identified in data, outcomes achieved and sustained, and
results claims they qualify for. Ids and categories only."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, Field, field_validator

from .caps import MAX_CHILDREN
from .envelope import EventData
from .vocabulary import HeadlineProblem


class FamilyIdentified(EventData):
    """outcomes.family-identified.v1: a family identified in data as meeting one or more Troubled Families
    headline problems. No names: the family and its children by their platform ids only."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.outcomes.family-identified.v1"

    family_id: uuid.UUID
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_CHILDREN)
    headline_problems: list[HeadlineProblem] = Field(min_length=1, max_length=len(HeadlineProblem))
    identified_at: AwareDatetime = Field(description="When the data match was made: the allocation clock starts here")

    @field_validator("child_ids")
    @classmethod
    def _children_unique(cls, child_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(child_ids)) != len(child_ids):
            raise ValueError("each child id must appear once")
        return child_ids

    @field_validator("headline_problems")
    @classmethod
    def _problems_unique(cls, problems: list[HeadlineProblem]) -> list[HeadlineProblem]:
        if len(set(problems)) != len(problems):
            raise ValueError("each headline problem must appear once")
        return problems


class OutcomeAchieved(EventData):
    """outcomes.outcome-achieved.v1: a family met every target of its outcome plan and the progress held for
    the sustain period (significant and sustained progress). Once per plan."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.outcomes.outcome-achieved.v1"

    family_id: uuid.UUID
    case_id: uuid.UUID = Field(description="The Early Help case whose start made the plan")
    plan: list[HeadlineProblem] = Field(min_length=1, max_length=len(HeadlineProblem))
    progress_since: date = Field(description="Every target met since this day, without relapse")
    achieved_at: AwareDatetime


class ClaimEligible(EventData):
    """outcomes.claim-eligible.v1: the family qualifies for a results claim (significant and sustained progress,
    or an adult into continuous employment). Once per plan."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.outcomes.claim-eligible.v1"

    family_id: uuid.UUID
    case_id: uuid.UUID
    basis: str = Field(pattern="^(sustained_progress|continuous_employment)$")
    eligible_at: AwareDatetime
