"""Fact tables of the KPI read model, on the outcomes service's metadata.

One row per fact, keyed by the CloudEvent id that carried it (and the child,
where a fact is per child), so the same event applied twice inserts nothing
the second time. Ids, bounded categories, counts and times only: no names,
no free text. Times are the business times in the data (received_at,
decided_at, offered_at...), stored as UTC; reports select on them.

Family ids are stored as the events give them; `KpiFamilyAlias` says which
family a merged one is part of now, and every "same family" check and
distinct-family count goes through it (a merge after the facts still joins
them)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Field

from frontdoor_platform.database import utc_column

from ..models import OutcomesTable

EVENT_ID_LENGTH = 200  # the envelope's limit
CATEGORY_LENGTH = 40
AGENCY_ID_LENGTH = 64
PROBLEMS_LENGTH = 120  # six headline problems, comma-separated (`join_categories`)


def join_categories(values: Sequence[str]) -> str:
    """Categories as one column: sorted, distinct, comma-separated."""
    return ",".join(sorted(set(values)))


def split_categories(joined: str) -> list[str]:
    """A comma-separated column back to its categories."""
    return [part for part in joined.split(",") if part]


class KpiContact(OutcomesTable, table=True):
    """contacts.recorded.v1: a contact, by referrer source."""

    __tablename__ = "kpi_contacts"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    contact_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID
    referrer_source: str = Field(max_length=CATEGORY_LENGTH)
    channel: str = Field(max_length=CATEGORY_LENGTH)
    children: int
    da_incident: bool
    received_at: datetime = Field(sa_column=utc_column(index=True))


class KpiDecision(OutcomesTable, table=True):
    """contacts.decided.v1: the MASH decision on a contact."""

    __tablename__ = "kpi_decisions"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    contact_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID = Field(index=True)
    decision: str = Field(max_length=CATEGORY_LENGTH)
    level_of_need: int
    referral: bool
    decided_at: datetime = Field(sa_column=utc_column(index=True))


class KpiReferralChild(OutcomesTable, table=True):
    """contacts.decided.v1, per child: the referral and re-referral flags."""

    __tablename__ = "kpi_decision_children"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    child_id: uuid.UUID = Field(primary_key=True)
    contact_id: uuid.UUID = Field(index=True)
    referral: bool
    re_referral: bool
    decided_at: datetime = Field(sa_column=utc_column(index=True))


class KpiReReferralCorrection(OutcomesTable, table=True):
    """contacts.re-referral-corrected.v1: a child's flag on a referral, corrected.
    The latest correction (by corrected_at) of a (contact, child) wins."""

    __tablename__ = "kpi_re_referral_corrections"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    contact_id: uuid.UUID = Field(index=True)
    child_id: uuid.UUID
    re_referral: bool
    decided_at: datetime = Field(sa_column=utc_column(index=True))
    corrected_at: datetime = Field(sa_column=utc_column())


class KpiFamilyAlias(OutcomesTable, table=True):
    """contacts.families-merged.v1: `merged_family_id` is part of `family_id`
    now. Kept flat: `family_id` is never itself merged (a merge of a merge
    repoints the older aliases), so one join resolves any family."""

    __tablename__ = "kpi_family_aliases"

    merged_family_id: uuid.UUID = Field(primary_key=True)
    family_id: uuid.UUID = Field(index=True)
    merged_at: datetime = Field(sa_column=utc_column())


class KpiCaseOpened(OutcomesTable, table=True):
    """allocation.case-opened.v1: an allocation case opened for a family."""

    __tablename__ = "kpi_cases_opened"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    case_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID = Field(index=True)
    source: str = Field(max_length=CATEGORY_LENGTH)
    headline_problems: str = Field(max_length=PROBLEMS_LENGTH, description="Comma-separated, sorted")
    children: int
    opened_at: datetime = Field(sa_column=utc_column(index=True))


class KpiAllocation(OutcomesTable, table=True):
    """allocation.case-allocated.v1: the organisation taking the lead professional role."""

    __tablename__ = "kpi_allocations"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    case_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID
    lead_agency_id: str = Field(max_length=AGENCY_ID_LENGTH)
    agency_kind: str = Field(max_length=CATEGORY_LENGTH)
    at_meeting: bool
    allocated_at: datetime = Field(sa_column=utc_column(index=True))


class KpiOffer(OutcomesTable, table=True):
    """allocation.offer-made.v1: SPA decision to offer, in days of the case's target calendar."""

    __tablename__ = "kpi_offers"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    case_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID
    agency_kind: str = Field(max_length=CATEGORY_LENGTH)
    days_taken: int
    within_target: bool
    target_calendar: str = Field(max_length=CATEGORY_LENGTH)
    offered_at: datetime = Field(sa_column=utc_column(index=True))


class KpiClosure(OutcomesTable, table=True):
    """allocation.case-closed.v1: a case closed with its outcome category (once per case)."""

    __tablename__ = "kpi_closures"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    case_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID = Field(index=True)
    source: str = Field(max_length=CATEGORY_LENGTH)
    outcome: str = Field(max_length=CATEGORY_LENGTH)
    agency_kind: str | None = Field(default=None, max_length=CATEGORY_LENGTH)
    closed_at: datetime = Field(sa_column=utc_column(index=True))


class KpiClosureChild(OutcomesTable, table=True):
    """allocation.case-closed.v1, per child of the case: closure outcomes are counted per child."""

    __tablename__ = "kpi_closure_children"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    child_id: uuid.UUID = Field(primary_key=True)
    case_id: uuid.UUID
    outcome: str = Field(max_length=CATEGORY_LENGTH)
    closed_at: datetime = Field(sa_column=utc_column(index=True))


class KpiDelivery(OutcomesTable, table=True):
    """notifications.delivered.v1: a notification reached its recipient, before its deadline or not."""

    __tablename__ = "kpi_deliveries"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    notification_id: uuid.UUID = Field(index=True)
    kind: str = Field(max_length=CATEGORY_LENGTH)
    channel: str = Field(max_length=CATEGORY_LENGTH)
    before_deadline: bool | None = None
    delivered_at: datetime = Field(sa_column=utc_column(index=True))


class KpiFamilyIdentified(OutcomesTable, table=True):
    """outcomes.family-identified.v1: a family identified in data, with its headline problems."""

    __tablename__ = "kpi_families_identified"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    family_id: uuid.UUID = Field(index=True)
    headline_problems: str = Field(max_length=PROBLEMS_LENGTH, description="Comma-separated, sorted")
    identified_at: datetime = Field(sa_column=utc_column(index=True))


class KpiOutcomeAchieved(OutcomesTable, table=True):
    """outcomes.outcome-achieved.v1: significant and sustained progress against a plan (once per plan)."""

    __tablename__ = "kpi_outcomes_achieved"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    family_id: uuid.UUID = Field(index=True)
    case_id: uuid.UUID = Field(index=True)
    achieved_at: datetime = Field(sa_column=utc_column(index=True))


class KpiClaimEligible(OutcomesTable, table=True):
    """outcomes.claim-eligible.v1: a results claim the family qualifies for (once per plan)."""

    __tablename__ = "kpi_claims_eligible"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    family_id: uuid.UUID = Field(index=True)
    case_id: uuid.UUID
    basis: str = Field(max_length=CATEGORY_LENGTH)
    eligible_at: datetime = Field(sa_column=utc_column(index=True))


FACT_TABLES: tuple[type[OutcomesTable], ...] = (
    KpiContact, KpiDecision, KpiReferralChild, KpiReReferralCorrection, KpiFamilyAlias, KpiCaseOpened, KpiAllocation,
    KpiOffer, KpiClosure, KpiClosureChild, KpiDelivery, KpiFamilyIdentified, KpiOutcomeAchieved, KpiClaimEligible,
)
