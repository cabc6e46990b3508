"""The read API's bodies, declared so a generated client knows them (the
views build them; FastAPI checks them against these)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChildView(Body):
    person_id: uuid.UUID
    ref: str
    given_name: str  # "" once the person was erased
    family_name: str
    date_of_birth: date | None
    erased: bool
    school_urn: str | None
    da_present: bool | None


class AdultView(Body):
    person_id: uuid.UUID
    ref: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    erased: bool
    relationship: str | None


class DecisionView(Body):
    decision: str
    level_of_need: int
    rationale: str
    decided_by: str
    recorded_by: str | None
    decided_at: datetime
    referral: bool
    re_referral: bool


class IncidentView(Body):
    police_reference: str | None  # None once a child it named was erased
    occurred_at: datetime | None


class ContactFields(Body):
    contact_id: uuid.UUID
    referrer_source: str
    channel: str
    recorded_by: str | None
    received_at: datetime
    concerns: list[str]
    referral: bool
    re_referral: bool


class ContactSummary(ContactFields):
    decision: str | None


class ContactView(ContactFields):
    family_id: uuid.UUID
    recorded_at: datetime
    children: list[ChildView]
    adults: list[AdultView]
    da_incident: IncidentView | None
    decision: DecisionView | None


class ChildContacts(Body):
    child_id: uuid.UUID
    contacts: list[ContactSummary]
