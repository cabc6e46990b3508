"""Front-door events: contacts in, MASH decisions in, and what the contacts
service publishes about them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from .caps import (
    MAX_ADULTS,
    MAX_CHILDREN,
    MAX_CONCERNS,
    DecidedBy,
    Name,
    PoliceReference,
    Rationale,
    Ref,
    Relationship,
    unique,
)
from .envelope import EventData
from .identifiers import NhsNumber, SchoolUrn, Upn
from .personal import Sealed
from .tolerance import InformationalConcerns, InformationalReferrerSource
from .vocabulary import Channel, Concern, Decision, LevelOfNeed, ReferrerSource

# Contact ids are derived from the producer's event identity, so the API can
# answer with the id before the consumer has recorded anything, and a replay
# maps to the same contact.
CONTACT_ID_NAMESPACE = uuid.UUID("6f1c7e0a-2d0b-4c55-9a53-5b7a3f0d2e11")


def contact_id_for(source: str, event_id: str) -> uuid.UUID:
    return uuid.uuid5(CONTACT_ID_NAMESPACE, f"{source}\n{event_id}")


LONDON = ZoneInfo("Europe/London")


def today_in_england(now: datetime | None = None) -> date:
    """The date in England at `now` (a child born at 00:30 BST is born
    "today", though it is still yesterday in UTC)."""
    return (now or datetime.now(UTC)).astimezone(LONDON).date()


def _not_in_future(value: date) -> date:
    if value > today_in_england():
        raise ValueError("date of birth must not be in the future")
    return value


def _tidy_postcode(value: object) -> object:
    return " ".join(value.upper().split()) if isinstance(value, str) else value


Postcode = Annotated[
    str, BeforeValidator(_tidy_postcode), StringConstraints(pattern=r"^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$")
]
DateOfBirth = Annotated[date, AfterValidator(_not_in_future)]


class Child(EventData):
    ref: Ref = Field(description="The child's reference within this contact")
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    postcode: Postcode | None = None
    school_urn: SchoolUrn | None = None


class Adult(EventData):
    ref: Ref
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth | None = None
    nhs_number: NhsNumber | None = None
    postcode: Postcode | None = None
    relationship: Relationship | None = None


class DAChild(EventData):
    child_ref: Ref
    present: bool = Field(description="Present at the incident (otherwise normally resident)")


class DAIncident(EventData):
    occurred_at: AwareDatetime
    police_reference: PoliceReference
    # Each child of the contact at most once (so never more entries than the contact has children).
    children: list[DAChild] = Field(min_length=1, max_length=MAX_CHILDREN)

    @field_validator("children")
    @classmethod
    def _children_once(cls, children: list[DAChild]) -> list[DAChild]:
        unique([c.child_ref for c in children], "child_ref")
        return children


class ContactSubmitted(EventData):
    """Published by front-door systems on frontdoor.contacts.v1."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contact.submitted.v1"

    referrer_source: ReferrerSource
    received_at: AwareDatetime
    children: list[Child] = Field(min_length=1, max_length=MAX_CHILDREN)
    adults: list[Adult] = Field(default_factory=list, max_length=MAX_ADULTS)
    concerns: list[Concern] = Field(min_length=1, max_length=MAX_CONCERNS, description="Each concern once",
                                  json_schema_extra={"uniqueItems": True})
    da_incident: DAIncident | None = None

    @field_validator("children")
    @classmethod
    def _refs_unique(cls, children: list[Child]) -> list[Child]:
        if len({c.ref for c in children}) != len(children):
            raise ValueError("each child's ref must be unique within the contact")
        return children

    @field_validator("adults")
    @classmethod
    def _adult_refs_unique(cls, adults: list[Adult], info: ValidationInfo) -> list[Adult]:
        # One ref names one person of the contact: the contact's people are stored by (contact, ref).
        refs = [a.ref for a in adults] + [c.ref for c in info.data.get("children") or ()]
        unique(refs, "ref (of a child or an adult)")
        return adults

    @field_validator("concerns")
    @classmethod
    def _concerns_once(cls, concerns: list[Concern]) -> list[Concern]:
        unique(concerns, "concern")
        return concerns

    @field_validator("da_incident")
    @classmethod
    def _incident_resolves(cls, incident: DAIncident | None, info: ValidationInfo) -> DAIncident | None:
        if incident is None:
            return None
        if info.data.get("referrer_source") not in (None, ReferrerSource.POLICE):
            raise ValueError("a DA incident is only accepted from referrer_source police")
        refs = {c.ref for c in info.data.get("children") or ()}
        for index, entry in enumerate(incident.children):
            if refs and entry.child_ref not in refs:
                raise ValueError(f"children[{index}].child_ref does not name a child in the contact")
        return incident


class DecisionSubmitted(EventData):
    """A MASH decision on a contact, published on frontdoor.decisions.v1
    by a case system (or by the contacts API)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.decision.submitted.v1"

    contact_id: uuid.UUID
    decision: Decision
    level_of_need: LevelOfNeed
    rationale: Rationale
    decided_by: DecidedBy
    decided_at: AwareDatetime


class RecordedChild(EventData):
    child_id: uuid.UUID
    school_urn: SchoolUrn | None = None


class ContactRecorded(EventData):
    """contacts.recorded.v1: a contact was recorded once. No names."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.recorded.v1"

    contact_id: uuid.UUID
    family_id: uuid.UUID
    referrer_source: ReferrerSource
    channel: Channel
    received_at: AwareDatetime
    children: list[RecordedChild] = Field(min_length=1)
    adult_count: int = Field(ge=0)
    concerns: list[Concern]
    da_incident: bool


class DecidedChild(EventData):
    child_id: uuid.UUID
    referral: bool
    re_referral: bool = Field(description="A referral within 12 months of this child's previous one")
    age_years: int | None = Field(default=None, ge=0, le=25,
                                  description="The child's age in whole years on the day of the decision (what the "
                                              "allocations meeting needs to recognise the family, never the date "
                                              "of birth); absent when the date of birth is not known")


class ContactDecided(EventData):
    """contacts.decided.v1: the MASH decision, with referral flags per child.
    The rationale (free text) stays in the contacts service."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.decided.v1"

    contact_id: uuid.UUID
    family_id: uuid.UUID
    decision: Decision
    level_of_need: LevelOfNeed
    decided_at: AwareDatetime
    referrer_source: InformationalReferrerSource
    concerns: InformationalConcerns
    children: list[DecidedChild] = Field(min_length=1)
    referral: bool
    re_referral: bool


class DAChildPersonal(EventData):
    """The personal fields of one child on a DA incident, sealed (`personal.Sealed`) with the child's data
    key: the minimum a school's key adult needs to recognise its pupil, and the police reference."""

    given_name: str
    family_name: str
    date_of_birth: date
    upn: str | None = None
    police_reference: str


def da_child_context(contact_id: uuid.UUID, child_id: uuid.UUID) -> str:
    """What a DA child's sealed fields are bound to: they open on this incident and child only."""
    return f"{DAIncidentReported.EVENT_TYPE}/{contact_id}/{child_id}"


class DAChildReported(EventData):
    """One child on a DA incident: ids and categories in clear (routing to the school works without the
    key); the name, date of birth, UPN and police reference in `personal`, sealed with the child's key."""

    child_id: uuid.UUID
    school_urn: str | None = None
    present: bool
    personal: Sealed = Field(description="DAChildPersonal, sealed with the child's data key (key_id = child_id)")


class DAIncidentReported(EventData):
    """contacts.da-incident-reported.v1: one entry per child involved. No personal data in clear."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.da-incident-reported.v1"

    contact_id: uuid.UUID
    occurred_at: AwareDatetime
    reported_at: AwareDatetime
    children: list[DAChildReported] = Field(min_length=1)


class FamiliesMerged(EventData):
    """contacts.families-merged.v1: a contact linked people already in two or
    more families (children of both, or an adult known in one and a child in
    another); they are one family now, under `family_id`. Ids only."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.families-merged.v1"

    family_id: uuid.UUID = Field(description="The family that remains")
    merged_family_ids: list[uuid.UUID] = Field(min_length=1, description="The families now part of it")
    contact_id: uuid.UUID = Field(description="The contact that linked them")
    merged_at: AwareDatetime


class ReReferralCorrected(EventData):
    """contacts.re-referral-corrected.v1: a child's referral on `contact_id`
    is a re-referral after all. Re-referral flags follow decision times, not
    arrival order: a decision that arrives late but was taken earlier (within
    the window before this referral) makes this one a re-referral."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.re-referral-corrected.v1"

    contact_id: uuid.UUID = Field(description="The contact whose referral's flag changed")
    child_id: uuid.UUID
    re_referral: bool
    decided_at: AwareDatetime = Field(description="When that referral was decided")
    because_of_contact_id: uuid.UUID = Field(description="The earlier referral that arrived late")
    corrected_at: AwareDatetime
