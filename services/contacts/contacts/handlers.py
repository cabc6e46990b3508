"""Event in -> state change -> events out, in one database transaction.

The handlers write the outbound events to the outbox in the same
transaction as the state they describe; the relay publishes them. A
replayed event (same CloudEvents source + id) changes nothing and emits
nothing. Who a contact's people are, and their family, is `matching`'s;
the events themselves are built by `outgoing`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted, contact_id_for
from frontdoor_contracts.deadletters import dead_letter_headers
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event
from frontdoor_contracts.topics import FRONTDOOR_DECISIONS, dead_letter_topic
from frontdoor_contracts.vocabulary import Channel, Decision
from frontdoor_platform import outbox

from . import locks, matching, outgoing, person_keys, store
from .domain.ages import age_on
from .domain.referrals import RE_REFERRAL_WINDOW_MONTHS, is_re_referral, referral_flags
from .lookups import Lookups, contact_locks, lookups_for
from .models import ChildReferral, Contact, ContactPerson, MashDecision, OutboxEvent, PendingDecision, Person
from .person_keys import Sealing


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


def channel_of(event: CloudEvent[ContactSubmitted], api_source_prefix: str) -> Channel:
    return Channel.API if event.source.startswith(api_source_prefix) else Channel.KAFKA


def record_contact(
    session: Session, event: CloudEvent[ContactSubmitted], channel: Channel, source_uri: str, now: datetime,
    *, sealing: Sealing, window_months: int = RE_REFERRAL_WINDOW_MONTHS,
) -> Outcome:
    """Record a contact: match its people and place them in a family (`matching`), write the contact,
    emit what was recorded (a DA incident's children's personal fields sealed with their keys, made and
    published first when they have none: `person_keys`), then apply any decision that arrived before it.
    A contact already recorded (a redelivery) changes nothing: not even of a person erased since."""
    contact_id = contact_id_for(event.source, event.id)
    lookups = lookups_for(session)
    lookups.hold(contact_locks(contact_id, event.data))  # a batch's prefetch took them all at once
    if lookups.contact_known(contact_id):
        return Outcome(contact_id, duplicate=True)
    people = matching.match_contact(lookups, session, event.data, contact_id, now)
    _add_contact(session, contact_id, event, channel, people, now)
    lookups.note_contact(contact_id)
    outcome = Outcome(contact_id)
    keys, issued = person_keys.data_keys(session, sealing, _da_children(event.data, people), now)
    emits = outgoing.contact_recorded(contact_id, people, event.data, channel, now, keys, issued)
    outcome.emitted += outgoing.write(session, emits, event, source_uri, now)
    _apply_pending_decisions(session, lookups, outcome, source_uri, now, window_months)
    return outcome


def _da_children(contact: ContactSubmitted, people: matching.ContactPeople) -> list[Person]:
    """The people of the children a DA incident names (none without one)."""
    if contact.da_incident is None:
        return []
    by_ref = {child.ref: person for child, person in people.children}
    return [by_ref[entry.child_ref] for entry in contact.da_incident.children]


def _add_contact(session: Session, contact_id: uuid.UUID, event: CloudEvent[ContactSubmitted], channel: Channel,
                 people: matching.ContactPeople, now: datetime) -> None:
    """The contact's row, and a link to each child and adult it names (with, for a DA incident, whether the
    child was present)."""
    data, incident = event.data, event.data.da_incident
    session.add(Contact(
        id=contact_id, event_id=event.id, event_source=event.source, referrer_source=data.referrer_source.value,
        channel=channel.value, family_id=people.family_id, concerns=[c.value for c in data.concerns],
        received_at=data.received_at, recorded_at=now,
        police_reference=incident.police_reference if incident else None,
        incident_at=incident.occurred_at if incident else None,
    ))
    present = {entry.child_ref: entry.present for entry in incident.children} if incident else {}
    for child, person in people.children:
        session.add(ContactPerson(contact_id=contact_id, ref=child.ref, person_id=person.id, role="child",
                                  da_present=present.get(child.ref)))
    for adult, person in people.adults:
        session.add(ContactPerson(contact_id=contact_id, ref=adult.ref, person_id=person.id, role="adult",
                                  relationship=adult.relationship))


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
    locks.hold(session, [locks.contact(data.contact_id)])  # its contact being recorded, or another decision
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
    locks.hold(session, [locks.referrals(child_id) for child_id in child_ids])  # each child's history
    flags = referral_flags(data.decision, data.decided_at, child_ids, store.previous_referrals(session, child_ids),
                           window_months)
    any_referral = any(f.referral for f in flags)
    session.add(MashDecision(
        contact_id=contact.id, event_id=key, event_source=event.source, decision=data.decision.value,
        level_of_need=int(data.level_of_need),
        rationale=data.rationale, decided_by=data.decided_by, decided_at=data.decided_at,
        referral=any_referral, re_referral=any(f.re_referral for f in flags),
    ))
    for flag in flags:
        if flag.referral:
            session.add(ChildReferral(child_id=flag.child_id, contact_id=contact.id, decided_at=data.decided_at,
                                      re_referral=flag.re_referral))
    outcome = Outcome(contact.id, decisions=[data.decision], referrals=sum(f.referral for f in flags),
                      re_referrals=sum(f.re_referral for f in flags))
    ages = {child: age_on(born, data.decided_at.date()) for child, born in store.dates_of_birth(session, child_ids)}
    decided = outgoing.contact_decided(contact, data, flags, ages)
    outcome.emitted += outgoing.write(session, [decided], event, source_uri, now)
    if any_referral:
        _correct_later_referrals(session, outcome, contact.id, data.decided_at,
                                 [f.child_id for f in flags if f.referral], event, source_uri, now, window_months)
    return outcome


def _correct_later_referrals(session: Session, outcome: Outcome, contact_id: uuid.UUID, decided_at: datetime,
                             child_ids: list[uuid.UUID], cause: CloudEvent[DecisionSubmitted], source_uri: str,
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
        outcome.emitted += outgoing.write(session, [outgoing.re_referral_corrected(later, contact_id, now)], cause,
                                          source_uri, now)
        outcome.re_referrals += 1
