"""Events the outcomes service publishes (families identified in data)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import AwareDatetime, Field, field_validator

from .envelope import EventData
from .vocabulary import HeadlineProblem


class FamilyIdentified(EventData):
    """outcomes.family-identified.v1: a family identified in data as meeting one or more Troubled Families
    headline problems. No names: the family and its children by their platform ids only."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.outcomes.family-identified.v1"

    family_id: uuid.UUID
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=30)
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
