"""Partner data in (partners.*.v1), published by the local authority's data
team and partners: school attendance per pupil per term, offending and
anti-social behaviour, adult employment and out-of-work benefits, health
needs. Each record names a person (NHS number, UPN, name + date of birth +
postcode) and, where known, the household (UPRN).

The contacts service matches each record to a person (the people index is
there) and publishes the fact without identifiers or names
(contacts.partner-fact-matched.v1): the outcomes service only ever sees
those."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from .caps import Name, Ref
from .contacts import DateOfBirth, Postcode
from .envelope import EventData
from .identifiers import NhsNumber, Upn
from .vocabulary import EmploymentStatus, HealthNeed, OffenceKind, PartnerDataset, SchoolTerm

# contacts.partner-fact-matched.v1's fact_id: uuid5(FACT_ID_NAMESPACE, f"{source}\n{dataset}\n{record_ref}") of the
# partner record's CloudEvents source, its dataset's value and its record_ref (a replacement keeps its id). Here, not
# in the contacts service, so that whoever reads the facts (the stack's simulated year) derives the same ids.
FACT_ID_NAMESPACE = uuid.UUID("6f1d3c9a-2b7e-4e58-9a41-5c0b8d7e2f13")

Uprn = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,12}$")]
AcademicYear = Annotated[str, StringConstraints(pattern=r"^20[0-9]{2}/[0-9]{2}$")]


class PartnerPerson(EventData):
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth
    postcode: Postcode | None = None
    uprn: Uprn | None = Field(default=None, description="The household's Unique Property Reference Number")


class PartnerRecord(EventData):
    """Fields every partner record carries (not an event itself)."""

    record_ref: Ref = Field(description="The partner's own reference for the record: the same ref replaces it")
    person: PartnerPerson


class AttendanceMeasure(EventData):
    dataset: Literal[PartnerDataset.ATTENDANCE] = PartnerDataset.ATTENDANCE
    academic_year: AcademicYear = Field(description='e.g. "2026/27"')
    term: SchoolTerm
    term_starts_on: date
    sessions_possible: int = Field(ge=1, le=400)
    unauthorised_absences: int = Field(ge=0, le=400)
    fixed_term_exclusions: int = Field(ge=0, le=100)
    permanently_excluded: bool = False

    @model_validator(mode="after")
    def _absences_possible(self) -> AttendanceMeasure:
        if self.unauthorised_absences > self.sessions_possible:
            raise ValueError("unauthorised_absences cannot exceed sessions_possible")
        return self


class OffendingMeasure(EventData):
    dataset: Literal[PartnerDataset.OFFENDING] = PartnerDataset.OFFENDING
    occurred_on: date
    kind: OffenceKind
    youth: bool = Field(description="Committed under 18 (youth justice), otherwise adult")


class EmploymentMeasure(EventData):
    dataset: Literal[PartnerDataset.EMPLOYMENT] = PartnerDataset.EMPLOYMENT
    status: EmploymentStatus
    out_of_work_benefit: bool
    starts_on: date
    ends_on: date | None = Field(default=None, description="Open while the status holds")

    @model_validator(mode="after")
    def _ends_after_start(self) -> EmploymentMeasure:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on cannot be before starts_on")
        return self


class HealthMeasure(EventData):
    dataset: Literal[PartnerDataset.HEALTH] = PartnerDataset.HEALTH
    category: HealthNeed
    identified_on: date


Measure = Annotated[AttendanceMeasure | OffendingMeasure | EmploymentMeasure | HealthMeasure,
                    Field(discriminator="dataset")]


class AttendanceRecorded(PartnerRecord):
    """partners.attendance.v1: a pupil's attendance and exclusions in one term."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.partners.attendance-recorded.v1"
    measure: AttendanceMeasure


class OffendingRecorded(PartnerRecord):
    """partners.offending.v1: a proven offence or an anti-social behaviour incident."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.partners.offending-recorded.v1"
    measure: OffendingMeasure


class EmploymentRecorded(PartnerRecord):
    """partners.employment.v1: an adult's employment status and out-of-work benefits, from when to when."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.partners.employment-recorded.v1"
    measure: EmploymentMeasure


class HealthNeedRecorded(PartnerRecord):
    """partners.health.v1: a health need identified (category only, never clinical detail)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.partners.health-need-recorded.v1"
    measure: HealthMeasure


class PartnerFactMatched(EventData):
    """contacts.partner-fact-matched.v1: a partner record matched to a person
    and family; no identifiers, no names. A record replaced by its partner
    (same record_ref) keeps its fact_id."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.partner-fact-matched.v1"

    fact_id: uuid.UUID = Field(description="From the partner and its record_ref: a replacement has the same id")
    person_id: uuid.UUID
    family_id: uuid.UUID
    is_child: bool = Field(description="Under 18 on the day the fact is about")
    person_created: bool = Field(description="Nobody matched: the person (and family) were created from this record")
    matched_at: AwareDatetime
    measure: Measure
