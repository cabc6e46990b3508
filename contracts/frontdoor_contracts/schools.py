"""Events about schools, published by schools' management information
systems or the school census (the local authority's data team)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field, model_validator

from .envelope import EventData
from .identifiers import SchoolUrn, Upn


class PupilEnrolled(EventData):
    """schools.enrolments.v1: a pupil (UPN) is on a school's roll from
    `starts_on`, to `ends_on` when known. A later record for the same pupil,
    school and start replaces the earlier (e.g. to add the leaving date)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.schools.pupil-enrolled.v1"

    upn: Upn
    school_urn: SchoolUrn
    starts_on: date
    ends_on: date | None = Field(default=None, description="The last day on roll, once known")

    @model_validator(mode="after")
    def _ends_after_start(self) -> PupilEnrolled:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on cannot be before starts_on")
        return self
