"""Event in -> state change -> events out, in one database transaction.

The handlers write the outbound events to the outbox in the same
transaction as the state they describe; the relay publishes them. A
replayed event (same CloudEvents source + id) changes nothing and emits
nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from frontdoor_contracts.contacts import (
    Adult,
    Child,
    ContactDecided,
    ContactRecorded,
    ContactSubmitted,
    DAChildReported,
    DAIncidentReported,
    DecidedChild,
    DecisionSubmitted,
    FamiliesMerged,
    RecordedChild,
    ReReferralCorrected,
    contact_id_for,
)
from frontdoor_contracts.deadletters import dead_letter_headers
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event
from frontdoor_contracts.topics import (
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_RECORDED,
    FRONTDOOR_DECISIONS,
    dead_letter_topic,
)
from frontdoor_contracts.vocabulary import Channel, Decision
from frontdoor_platform import outbox

from . import store
from .domain.people import PersonFacts, plan_family
from .domain.referrals import RE_REFERRAL_WINDOW_MONTHS, is_re_referral, referral_flags
from .lookups import Lookups, lookups_for
from .matching import match_or_create
from .models import ChildReferral, Contact, ContactPerson, MashDecision, OutboxEvent, PendingDecision, Person


@dataclass
class Outcome:
    contact_id: uuid.UUID
    duplicate: bool = False
    parked: bool = False
    emitted: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    referrals: int = 0
    re_referrals: int = 0

    def absorb(self, other: Outcome) -> None:
        self.emitted += other.emitted
        self.decisions += other.decisions
        self.dead_lettered += other.dead_lettered
        self.referrals += other.referrals
        self.re_referrals += other.re_referrals


DECISION_CLOCK_SKEW = timedelta(minutes=5)
DECISION_KEY_NAMESPACE = uuid.UUID("0b8e2f55-4a8c-4d0e-8f0e-3c1f9a6d7b21")


def _event_id(contact_id: uuid.UUID, kind: str) -> str:
    return str(uuid.uuid5(contact_id, kind))


def _child_facts(child: Child) -> PersonFacts:
    return PersonFacts(child.given_name, child.family_name, child.date_of_birth, child.nhs_number, child.upn,
                       child.postcode)


def channel_of(event: CloudEvent[ContactSubmitted], api_source_prefix: str) -> Channel:
    return Channel.API if event.source.startswith(api_source_prefix) else Channel.KAFKA


def record_contact(
    session: Session, event: CloudEvent[ContactSubmitted], channel: Channel, source_uri: str, now: datetime,
    *, window_months: int = RE_REFERRAL_WINDOW_MONTHS,
) -> Outcome:
    contact_id = contact_id_for(event.source, event.id)
    lookups = lookups_for(session)
    if lookups.contact_known(contact_id):
        return Outcome(contact_id, duplicate=True)
    data = event.data
    children: list[tuple[Child, Person]] = []
    for child in data.children:
        person = match_or_create(lookups, session, _child_facts(child), "child", now)
        person.school_urn = child.school_urn or person.school_urn
        children.append((child, person))
    adults: list[tuple[Adult, Person]] = []
    for adult in data.adults:
        facts = PersonFacts(adult.given_name, adult.family_name, adult.date_of_birth, adult.nhs_number, None,
                            adult.postcode)
        adults.append((adult, match_or_create(lookups, session, facts, "adult", now)))
    plan = plan_family([p.family_id for _, p in children], [p.family_id for _, p in adults])
    family_id = plan.family_id
    if plan.merged:
        store.merge_families(session, family_id, plan.merged)
    for _, person in children:
        person.family_id = family_id
        session.add(person)
    incident = data.da_incident
    session.add(Contact(
        id=contact_id, event_id=event.id, event_source=event.source, referrer_source=data.referrer_source.value,
        channel=channel.value, family_id=family_id, concerns=[c.value for c in data.concerns],
        received_at=data.received_at, recorded_at=now,
        police_reference=incident.police_reference if incident else None,
        incident_at=incident.occurred_at if incident else None,
    ))
    lookups.note_contact(contact_id)
    present = {entry.child_ref: entry.present for entry in incident.children} if incident else {}
    for child, person in children:
        session.add(ContactPerson(contact_id=contact_id, ref=child.ref, person_id=person.id, role="child",
                                  da_present=present.get(child.ref)))
    for adult, person in adults:
        person.family_id = person.family_id or family_id
        session.add(ContactPerson(contact_id=contact_id, ref=adult.ref, person_id=person.id, role="adult",
                                  relationship=adult.relationship))
    outcome = Outcome(contact_id)
    recorded = ContactRecorded(
        contact_id=contact_id, family_id=family_id, referrer_source=data.referrer_source, channel=channel,
        received_at=data.received_at,
        children=[RecordedChild(child_id=p.id, school_urn=c.school_urn or p.school_urn) for c, p in children],
        adult_count=len(data.adults), concerns=data.concerns, da_incident=incident is not None,
    )
    _emit(session, outcome, CONTACTS_RECORDED.name, recorded, event, source_uri, now, now, "recorded")
    if plan.merged:
        merged = FamiliesMerged(family_id=family_id, merged_family_ids=list(plan.merged), contact_id=contact_id,
                                merged_at=now)
        out = new_event(merged, source=source_uri, subject=str(contact_id), time=now,
                        event_id=_event_id(contact_id, "families-merged"), traceparent=event.traceparent)
        outbox.add_event(session, OutboxEvent, CONTACTS_FAMILIES_MERGED.name, str(family_id), out, now)
        outcome.emitted.append(CONTACTS_FAMILIES_MERGED.name)
    if incident is not None:
        by_ref = {child.ref: (child, person) for child, person in children}
        reported = DAIncidentReported(
            contact_id=contact_id, police_reference=incident.police_reference, occurred_at=incident.occurred_at,
            reported_at=data.received_at,
            children=[
                DAChildReported(
                    child_id=by_ref[entry.child_ref][1].id,
                    given_name=by_ref[entry.child_ref][0].given_name,
                    family_name=by_ref[entry.child_ref][0].family_name,
                    date_of_birth=by_ref[entry.child_ref][0].date_of_birth,
                    upn=by_ref[entry.child_ref][1].upn,
                    school_urn=by_ref[entry.child_ref][1].school_urn,
                    present=entry.present,
                )
                for entry in incident.children
            ],
        )
        _emit(session, outcome, CONTACTS_DA_INCIDENT_REPORTED.name, reported, event, source_uri, data.received_at, now,
              "da-incident")
    _apply_pending_decisions(session, lookups, outcome, source_uri, now, window_months)
    return outcome


def _apply_pending_decisions(session: Session, lookups: Lookups, outcome: Outcome, source_uri: str,
                             now: datetime, window_months: int) -> None:
    """The first decision that waited for this contact applies; any later
    one conflicts with it and is dead-lettered through the outbox."""
    for pending in lookups.pending_for(outcome.contact_id):
        try:
            with session.begin_nested():
                outcome.absorb(record_decision(session, parse_event(pending.payload, DecisionSubmitted), source_uri,
                                               now, window_months=window_months))
        except DecisionRejected as error:
            headers = dead_letter_headers(error, FRONTDOOR_DECISIONS.name, None, None)
            outbox.add_record(session, OutboxEvent, dead_letter_topic(FRONTDOOR_DECISIONS.name),
                              str(outcome.contact_id), pending.payload, pending.event_id + ":dlq", now, headers)
            outcome.dead_lettered.append(error.reason)
        if pending in session.new:  # parked earlier in this very batch: never written
            session.expunge(pending)
        else:
            session.delete(pending)


def decision_key(event: CloudEvent[DecisionSubmitted]) -> str:
    """Decisions are deduplicated on CloudEvents source + id, like contacts."""
    return str(uuid.uuid5(DECISION_KEY_NAMESPACE, f"{event.source}\n{event.id}"))


class DecisionRejected(InvalidEvent):
    """A well-formed decision that cannot apply (the contact has one already)."""


def record_decision(session: Session, event: CloudEvent[DecisionSubmitted], source_uri: str, now: datetime,
                    *, window_months: int = RE_REFERRAL_WINDOW_MONTHS) -> Outcome:
    """Record a MASH decision. One that arrives before its contact is parked
    and applied when the contact is recorded."""
    data = event.data
    if data.decided_at > now + DECISION_CLOCK_SKEW:
        raise DecisionRejected(
            "decided_in_future", [FieldError("data.decided_at", "in_future", "a decision cannot be in the future")]
        )
    contact = session.get(Contact, data.contact_id)
    key = decision_key(event)
    if contact is None:
        if session.get(PendingDecision, key) is not None:
            return Outcome(data.contact_id, duplicate=True)
        parked = PendingDecision(event_id=key, contact_id=data.contact_id, payload=event.model_dump_json().encode(),
                                 received_at=now)
        session.add(parked)
        lookups_for(session).note_pending(parked)
        return Outcome(data.contact_id, parked=True)
    existing = session.get(MashDecision, data.contact_id)
    if existing is not None:
        if existing.event_id == key:
            return Outcome(contact.id, duplicate=True)
        raise DecisionRejected(
            "already_decided", [FieldError("data.contact_id", "conflict", "the contact already has a decision")]
        )
    # Two entries of one contact can be the same child: count each child once.
    child_ids = list(dict.fromkeys(link.person_id for link in store.contact_children(session, contact.id)))
    flags = referral_flags(data.decision, data.decided_at, child_ids, store.previous_referrals(session, child_ids),
                           window_months)
    any_referral = any(f.referral for f in flags)
    any_re_referral = any(f.re_referral for f in flags)
    session.add(MashDecision(
        contact_id=contact.id, event_id=key, event_source=event.source, decision=data.decision.value,
        level_of_need=int(data.level_of_need),
        rationale=data.rationale, decided_by=data.decided_by, decided_at=data.decided_at,
        referral=any_referral, re_referral=any_re_referral,
    ))
    for flag in flags:
        if flag.referral:
            session.add(ChildReferral(child_id=flag.child_id, contact_id=contact.id, decided_at=data.decided_at,
                                      re_referral=flag.re_referral))
    decided = ContactDecided(
        contact_id=contact.id, family_id=contact.family_id, decision=data.decision, level_of_need=data.level_of_need,
        decided_at=data.decided_at, referrer_source=contact.referrer_source, concerns=contact.concerns,
        children=[DecidedChild(child_id=f.child_id, referral=f.referral, re_referral=f.re_referral) for f in flags],
        referral=any_referral, re_referral=any_re_referral,
    )
    outcome = Outcome(contact.id, decisions=[data.decision], referrals=sum(f.referral for f in flags),
                      re_referrals=sum(f.re_referral for f in flags))
    _emit(session, outcome, CONTACTS_DECIDED.name, decided, event, source_uri, data.decided_at, now, "decided")
    if any_referral:
        _correct_later_referrals(session, outcome, contact.id, data.decided_at,
                                 [f.child_id for f in flags if f.referral], event, source_uri, now, window_months)
    return outcome


def _correct_later_referrals(session: Session, outcome: Outcome, contact_id: uuid.UUID, decided_at: datetime,
                             child_ids: list[uuid.UUID], cause: CloudEvent, source_uri: str,  # type: ignore[type-arg]
                             now: datetime, window_months: int) -> None:
    """Flags follow decision times, not arrival order: this referral, if it
    arrived after a later one of the same child, can make that one a
    re-referral. Each flag that changes is corrected in the store and by an
    event (a flag never changes back: decisions are not withdrawn)."""
    for later in store.later_referrals(session, child_ids, decided_at):
        if later.re_referral or not is_re_referral(later.decided_at, [decided_at], window_months):
            continue
        later.re_referral = True
        session.add(later)
        store.mark_re_referral(session, later.contact_id)
        corrected = ReReferralCorrected(contact_id=later.contact_id, child_id=later.child_id, re_referral=True,
                                        decided_at=later.decided_at, because_of_contact_id=contact_id,
                                        corrected_at=now)
        out = new_event(corrected, source=source_uri, subject=str(later.contact_id), time=now,
                        event_id=str(uuid.uuid5(later.contact_id, f"re-referral:{later.child_id}")),
                        traceparent=cause.traceparent)
        outbox.add_event(session, OutboxEvent, CONTACTS_RE_REFERRAL_CORRECTED.name, str(later.contact_id), out, now)
        outcome.emitted.append(CONTACTS_RE_REFERRAL_CORRECTED.name)
        outcome.re_referrals += 1


def _emit(
    session: Session,
    outcome: Outcome,
    topic: str,
    data: ContactRecorded | ContactDecided | DAIncidentReported,
    cause: CloudEvent,  # type: ignore[type-arg]
    source_uri: str,
    time: datetime,
    now: datetime,
    kind: str,
) -> None:
    out = new_event(data, source=source_uri, subject=str(outcome.contact_id), time=time,
                    event_id=_event_id(outcome.contact_id, kind), traceparent=cause.traceparent)
    outbox.add_event(session, OutboxEvent, topic, str(outcome.contact_id), out, now)
    outcome.emitted.append(topic)
