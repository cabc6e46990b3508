"""A family's chronology: one row per event about the family, from every
topic the stream reads and the service's own outputs, written in the
stream's transaction (stream/ledger.py) and in a rebuild's.

Ids, bounded categories, counts and times only, never a name, a date of
birth, an identifier of a person or free text: what each event says is
its `facts` (a `Facts` as JSON), chosen field by field below. Keyed by the
event id and inserted with ON CONFLICT DO NOTHING, so a record applied
twice adds nothing. A re-referral correction and a school's notification
(delivered, acknowledged) name a contact, not a family: their rows have no
family, and a family's chronology finds them through the family's contacts
(in whichever order the two arrived). A notification that names no
contact (an older producer's, or not a DA incident's) adds no row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Text
from sqlmodel import Field, Session

from frontdoor_contracts.allocation import (
    CaseAllocated,
    CaseClosed,
    CaseOpened,
    OfferAnswered,
    OfferMade,
    SteppedUp,
)
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, FamiliesMerged, ReReferralCorrected
from frontdoor_contracts.envelope import CloudEvent, EventData
from frontdoor_contracts.notifications import NotificationAcknowledged, NotificationDelivered, NotificationKind
from frontdoor_contracts.outcomes import ClaimEligible, FamilyIdentified, OutcomeAchieved
from frontdoor_contracts.partners import AttendanceMeasure, EmploymentMeasure, OffendingMeasure, PartnerFactMatched
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_ANSWERED,
    ALLOCATION_OFFER_MADE,
    ALLOCATION_STEPPED_UP,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_PARTNER_FACT_MATCHED,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_RECORDED,
    NOTIFICATIONS_ACKNOWLEDGED,
    NOTIFICATIONS_DELIVERED,
    OUTCOMES_CLAIM_ELIGIBLE,
    OUTCOMES_FAMILY_IDENTIFIED,
    OUTCOMES_OUTCOME_ACHIEVED,
)
from frontdoor_platform.database import utc_column

from ..models import OutcomesTable
from .apply import insert_new
from .tables import AGENCY_ID_LENGTH, CATEGORY_LENGTH, EVENT_ID_LENGTH


class Kind(StrEnum):
    """What happened, in the order events of the same instant are shown."""

    CONTACT_RECORDED = "contact_recorded"
    SCHOOL_NOTIFIED = "school_notified"  # a DA incident's notification delivered to the child's school
    SCHOOL_ACKNOWLEDGED = "school_acknowledged"  # ... and acknowledged by its key adult
    CONTACT_DECIDED = "contact_decided"
    RE_REFERRAL_CORRECTED = "re_referral_corrected"
    FAMILIES_MERGED = "families_merged"
    PARTNER_FACT = "partner_fact"
    FAMILY_IDENTIFIED = "family_identified"
    CASE_OPENED = "case_opened"
    PLAN_MADE = "plan_made"  # from the family's picture (read.py), not a row
    CASE_ALLOCATED = "case_allocated"
    OFFER_MADE = "offer_made"
    OFFER_ANSWERED = "offer_answered"
    STEPPED_UP = "stepped_up"
    CASE_CLOSED = "case_closed"
    TARGET_MET = "target_met"  # from the family's picture (read.py), not a row
    OUTCOME_ACHIEVED = "outcome_achieved"
    CLAIM_ELIGIBLE = "claim_eligible"


RANK = {kind: rank for rank, kind in enumerate(Kind)}


class Facts(BaseModel):
    """What an entry says: ids, categories, counts, flags and days, each field present only where the event has
    it (never a name, a date of birth, an identifier of a person or free text)."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = None  # the referrer's source (a contact), what opened the case
    channel: str | None = None
    recipient: str | None = None  # the school's URN told (an organisation's identifier, never a person's)
    before_deadline: bool | None = None  # before the start of the next school day
    concerns: list[str] | None = None
    da_incident: bool | None = None
    child_ids: list[uuid.UUID] | None = None
    adults: int | None = None
    decision: str | None = None
    level_of_need: int | None = None
    referral: bool | None = None
    re_referral: bool | None = None
    re_referred_child_ids: list[uuid.UUID] | None = None
    problems: list[str] | None = None
    targets: list[str] | None = None
    due_at: datetime | None = None
    agency_kind: str | None = None
    lead_professional: str | None = None  # the staff id allocation gives (never a name)
    at_meeting: bool | None = None
    days_taken: int | None = None
    within_target: bool | None = None
    answer: str | None = None
    status_before: str | None = None
    outcome: str | None = None
    dataset: str | None = None
    category: str | None = None
    about_on: date | None = None
    person_id: uuid.UUID | None = None
    is_child: bool | None = None
    merged_family_ids: list[uuid.UUID] | None = None
    progress_since: date | None = None
    basis: str | None = None

    def stored(self) -> str:
        return self.model_dump_json(exclude_none=True)


class ChronologyEntry(OutcomesTable, table=True):
    """One event in a family's chronology (the family as the event named it: merges are followed when read)."""

    __tablename__ = "chronology"

    event_id: str = Field(primary_key=True, max_length=EVENT_ID_LENGTH)
    family_id: uuid.UUID | None = Field(default=None, index=True)
    kind: str = Field(max_length=CATEGORY_LENGTH)
    at: datetime = Field(sa_column=utc_column())
    case_id: uuid.UUID | None = Field(default=None)
    contact_id: uuid.UUID | None = Field(default=None, index=True)
    agency_id: str | None = Field(default=None, max_length=AGENCY_ID_LENGTH)
    facts: str = Field(sa_column=Column(Text, nullable=False))

Row = dict[str, Any]


def _row(kind: Kind, family_id: uuid.UUID | None, at: datetime, facts: Facts, *, case_id: uuid.UUID | None = None,
         contact_id: uuid.UUID | None = None, agency_id: str | None = None) -> Row:
    return dict(family_id=family_id, kind=kind.value, at=at, case_id=case_id, contact_id=contact_id,
                agency_id=agency_id, facts=facts.stored())


def _names(values: Any) -> list[str]:
    return sorted({str(value) for value in values})


def _recorded(d: ContactRecorded) -> Row:
    return _row(Kind.CONTACT_RECORDED, d.family_id, d.received_at, Facts(
        source=str(d.referrer_source), channel=str(d.channel), concerns=_names(d.concerns), da_incident=d.da_incident,
        child_ids=[c.child_id for c in d.children], adults=d.adult_count), contact_id=d.contact_id)


def _decided(d: ContactDecided) -> Row:
    return _row(Kind.CONTACT_DECIDED, d.family_id, d.decided_at, Facts(
        decision=str(d.decision), level_of_need=int(d.level_of_need), referral=d.referral, re_referral=d.re_referral,
        child_ids=[c.child_id for c in d.children],
        re_referred_child_ids=[c.child_id for c in d.children if c.re_referral]), contact_id=d.contact_id)


def _corrected(d: ReReferralCorrected) -> Row:
    return _row(Kind.RE_REFERRAL_CORRECTED, None, d.corrected_at, Facts(
        child_ids=[d.child_id], re_referral=d.re_referral), contact_id=d.contact_id)


def _merged(d: FamiliesMerged) -> Row:
    return _row(Kind.FAMILIES_MERGED, d.family_id, d.merged_at, Facts(merged_family_ids=d.merged_family_ids),
                contact_id=d.contact_id)


def _measure(m: Any) -> tuple[str, date]:
    """A partner fact's own category and the day it is about."""
    if isinstance(m, AttendanceMeasure):
        return str(m.term), m.term_starts_on
    if isinstance(m, OffendingMeasure):
        return str(m.kind), m.occurred_on
    if isinstance(m, EmploymentMeasure):
        return str(m.status), m.starts_on
    return str(m.category), m.identified_on


def _fact(d: PartnerFactMatched) -> Row:
    category, about = _measure(d.measure)
    return _row(Kind.PARTNER_FACT, d.family_id, d.matched_at, Facts(
        dataset=str(d.measure.dataset), category=category, about_on=about, person_id=d.person_id,
        is_child=d.is_child))


def _opened(d: CaseOpened) -> Row:
    return _row(Kind.CASE_OPENED, d.family_id, d.opened_at, Facts(
        source=str(d.source), decision=None if d.decision is None else str(d.decision),
        level_of_need=None if d.level_of_need is None else int(d.level_of_need), concerns=_names(d.concerns),
        problems=_names(d.headline_problems), child_ids=d.child_ids, due_at=d.due_at),
        case_id=d.case_id, contact_id=d.contact_id)


def _allocated(d: CaseAllocated) -> Row:
    return _row(Kind.CASE_ALLOCATED, d.family_id, d.allocated_at, Facts(
        agency_kind=str(d.agency_kind), lead_professional=d.lead_professional_ref, at_meeting=d.at_meeting),
        case_id=d.case_id, agency_id=d.lead_agency_id)


def _offered(d: OfferMade) -> Row:
    return _row(Kind.OFFER_MADE, d.family_id, d.offered_at, Facts(
        agency_kind=str(d.agency_kind), days_taken=d.days_taken, within_target=d.within_target),
        case_id=d.case_id, agency_id=d.lead_agency_id)


def _answered(d: OfferAnswered) -> Row:
    return _row(Kind.OFFER_ANSWERED, d.family_id, d.answered_at, Facts(
        agency_kind=str(d.agency_kind), answer=str(d.answer)), case_id=d.case_id, agency_id=d.lead_agency_id)


def _stepped_up(d: SteppedUp) -> Row:
    return _row(Kind.STEPPED_UP, d.family_id, d.stepped_up_at, Facts(
        status_before=str(d.status_before), agency_kind=None if d.agency_kind is None else str(d.agency_kind)),
        case_id=d.case_id, agency_id=d.lead_agency_id)


def _closed(d: CaseClosed) -> Row:
    return _row(Kind.CASE_CLOSED, d.family_id, d.closed_at, Facts(
        outcome=str(d.outcome), agency_kind=None if d.agency_kind is None else str(d.agency_kind),
        child_ids=d.child_ids), case_id=d.case_id, agency_id=d.lead_agency_id)


def _identified(d: FamilyIdentified) -> Row:
    return _row(Kind.FAMILY_IDENTIFIED, d.family_id, d.identified_at, Facts(
        problems=_names(d.headline_problems), child_ids=d.child_ids))


def _achieved(d: OutcomeAchieved) -> Row:
    return _row(Kind.OUTCOME_ACHIEVED, d.family_id, d.achieved_at, Facts(
        problems=_names(d.plan), progress_since=d.progress_since), case_id=d.case_id)


def _school(kind: Kind, d: NotificationDelivered | NotificationAcknowledged, at: datetime, facts: Facts
            ) -> Row | None:
    if d.contact_id is None or d.kind != NotificationKind.DA_INCIDENT:
        return None  # names no contact (an older producer's event): no family to show it in
    facts.recipient, facts.before_deadline = d.recipient, d.before_deadline
    facts.child_ids = None if d.child_id is None else [d.child_id]
    return _row(kind, None, at, facts, contact_id=d.contact_id)


def _notified(d: NotificationDelivered) -> Row | None:
    return _school(Kind.SCHOOL_NOTIFIED, d, d.delivered_at, Facts(channel=str(d.channel)))


def _acknowledged(d: NotificationAcknowledged) -> Row | None:
    return _school(Kind.SCHOOL_ACKNOWLEDGED, d, d.acknowledged_at, Facts())


def _claim(d: ClaimEligible) -> Row:
    return _row(Kind.CLAIM_ELIGIBLE, d.family_id, d.eligible_at, Facts(basis=d.basis), case_id=d.case_id)


ENTRIES: dict[str, Callable[[Any], Row | None]] = {
    CONTACTS_RECORDED.name: _recorded,
    CONTACTS_DECIDED.name: _decided,
    CONTACTS_RE_REFERRAL_CORRECTED.name: _corrected,
    CONTACTS_FAMILIES_MERGED.name: _merged,
    CONTACTS_PARTNER_FACT_MATCHED.name: _fact,
    NOTIFICATIONS_DELIVERED.name: _notified,
    NOTIFICATIONS_ACKNOWLEDGED.name: _acknowledged,
    ALLOCATION_CASE_OPENED.name: _opened,
    ALLOCATION_CASE_ALLOCATED.name: _allocated,
    ALLOCATION_OFFER_MADE.name: _offered,
    ALLOCATION_OFFER_ANSWERED.name: _answered,
    ALLOCATION_STEPPED_UP.name: _stepped_up,
    ALLOCATION_CASE_CLOSED.name: _closed,
    OUTCOMES_FAMILY_IDENTIFIED.name: _identified,
    OUTCOMES_OUTCOME_ACHIEVED.name: _achieved,
    OUTCOMES_CLAIM_ELIGIBLE.name: _claim,
}
"""The topics the chronology shows, and what each event's row says (None: no row)."""

MODELS: dict[str, type[EventData]] = {NOTIFICATIONS_ACKNOWLEDGED.name: NotificationAcknowledged}
"""The topics read for the chronology alone (no rule and no KPI uses them), and the event each carries."""


def apply(session: Session, topic: str, event: CloudEvent[Any]) -> bool:
    """The event's row, once (True when new); a topic the chronology does not show, or an event it shows no row
    for, adds nothing."""
    entry = ENTRIES.get(topic)
    row = None if entry is None else entry(event.data)
    if row is None:
        return False
    return insert_new(session, ChronologyEntry, [{"event_id": event.id, **row}])
