"""The contract events the contacts service emits about contacts and
decisions, built from what was recorded, and written to the outbox (in the
caller's transaction; the relay publishes them).

Each event's id is derived from the contact it is about and its kind, so a
replay writes the same id (consumers dedupe on it); its traceparent is the
cause's, so a trace follows a contact across the hop."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.contacts import (
    ContactDecided,
    ContactRecorded,
    ContactSubmitted,
    DAChildPersonal,
    DAChildReported,
    DAIncidentReported,
    DecidedChild,
    DecisionSubmitted,
    FamiliesMerged,
    RecordedChild,
    ReReferralCorrected,
    da_child_context,
)
from frontdoor_contracts.envelope import CloudEvent, EventData, new_event
from frontdoor_contracts.personal import PersonKeyIssued, seal
from frontdoor_contracts.topics import (
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_PERSON_KEYS,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_RECORDED,
)
from frontdoor_contracts.vocabulary import Channel
from frontdoor_platform import outbox

from .domain.referrals import ChildReferral as ReferralFlags
from .matching import ContactPeople
from .models import ChildReferral, Contact, OutboxEvent


@dataclass(frozen=True)
class Emit:
    """One event to write: its topic and key, the contact it is about (`subject`), its kind (with the subject,
    its id), its data and its time."""

    topic: str
    key: str
    subject: uuid.UUID
    kind: str
    data: EventData
    time: datetime


def contact_recorded(contact_id: uuid.UUID, people: ContactPeople, contact: ContactSubmitted, channel: Channel,
                     now: datetime, keys: Mapping[uuid.UUID, bytes], issued: Sequence[PersonKeyIssued]
                     ) -> list[Emit]:
    """contacts.recorded.v1; then contacts.families-merged.v1 when the contact linked families, and for a DA
    incident the keys made for its children (`issued`, on contacts.person-keys.v1: before what they seal)
    and contacts.da-incident-reported.v1, each child's personal fields sealed with its key (`keys`)."""
    recorded = ContactRecorded(
        contact_id=contact_id, family_id=people.family_id, referrer_source=contact.referrer_source, channel=channel,
        received_at=contact.received_at,
        children=[RecordedChild(child_id=p.id, school_urn=c.school_urn or p.school_urn) for c, p in people.children],
        adult_count=len(contact.adults), concerns=contact.concerns, da_incident=contact.da_incident is not None,
    )
    emits = [Emit(CONTACTS_RECORDED.name, str(contact_id), contact_id, "recorded", recorded, now)]
    if people.merged:
        merged = FamiliesMerged(family_id=people.family_id, merged_family_ids=list(people.merged),
                                contact_id=contact_id, merged_at=now)
        emits.append(Emit(CONTACTS_FAMILIES_MERGED.name, str(people.family_id), contact_id, "families-merged",
                          merged, now))
    emits += [Emit(CONTACTS_PERSON_KEYS.name, str(key.person_id), key.person_id, "person-key", key, now)
              for key in issued]
    if contact.da_incident is not None:
        reported = da_incident_reported(contact_id, people, contact, keys)
        emits.append(Emit(CONTACTS_DA_INCIDENT_REPORTED.name, str(contact_id), contact_id, "da-incident", reported,
                          contact.received_at))
    return emits


def da_incident_reported(contact_id: uuid.UUID, people: ContactPeople, contact: ContactSubmitted,
                         keys: Mapping[uuid.UUID, bytes]) -> DAIncidentReported:
    """One entry per child of the incident: ids, school and presence in clear; name, date of birth, UPN and
    the police reference sealed with the child's key, bound to this incident and child."""
    incident = contact.da_incident
    assert incident is not None
    by_ref = {child.ref: (child, person) for child, person in people.children}
    children = []
    for entry in incident.children:
        child, person = by_ref[entry.child_ref]
        personal = DAChildPersonal(given_name=child.given_name, family_name=child.family_name,
                                   date_of_birth=child.date_of_birth, upn=person.upn,
                                   police_reference=incident.police_reference)
        children.append(DAChildReported(
            child_id=person.id, school_urn=person.school_urn, present=entry.present,
            personal=seal(keys[person.id], person.id, personal.model_dump(mode="json"),
                          da_child_context(contact_id, person.id))))
    return DAIncidentReported(contact_id=contact_id, occurred_at=incident.occurred_at,
                              reported_at=contact.received_at, children=children)


def contact_decided(contact: Contact, decision: DecisionSubmitted, flags: Sequence[ReferralFlags],
                    ages: Mapping[uuid.UUID, int | None]) -> Emit:
    """contacts.decided.v1: the decision, with each child's referral and re-referral flags and age in years."""
    decided = ContactDecided(
        contact_id=contact.id, family_id=contact.family_id, decision=decision.decision,
        level_of_need=decision.level_of_need, decided_at=decision.decided_at,
        referrer_source=contact.referrer_source, concerns=contact.concerns,
        children=[DecidedChild(child_id=f.child_id, referral=f.referral, re_referral=f.re_referral,
                               age_years=ages.get(f.child_id)) for f in flags],
        referral=any(f.referral for f in flags), re_referral=any(f.re_referral for f in flags),
    )
    return Emit(CONTACTS_DECIDED.name, str(contact.id), contact.id, "decided", decided, decision.decided_at)


def re_referral_corrected(later: ChildReferral, because_of: uuid.UUID, now: datetime) -> Emit:
    """contacts.re-referral-corrected.v1: a later referral of the child is a re-referral after all."""
    corrected = ReReferralCorrected(contact_id=later.contact_id, child_id=later.child_id, re_referral=True,
                                    decided_at=later.decided_at, because_of_contact_id=because_of, corrected_at=now)
    return Emit(CONTACTS_RE_REFERRAL_CORRECTED.name, str(later.contact_id), later.contact_id,
                f"re-referral:{later.child_id}", corrected, now)


def write(session: Session, emits: Sequence[Emit], cause: CloudEvent[Any], source_uri: str,
          now: datetime) -> list[str]:
    """Write `emits` to the outbox in order; the topics written."""
    for emit in emits:
        event = new_event(emit.data, source=source_uri, subject=str(emit.subject), time=emit.time,
                          event_id=str(uuid.uuid5(emit.subject, emit.kind)), traceparent=cause.traceparent)
        outbox.add_event(session, OutboxEvent, emit.topic, emit.key, event, now)
    return [emit.topic for emit in emits]
