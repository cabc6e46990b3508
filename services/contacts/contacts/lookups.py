"""What recording a contact or a partner record needs to look up: people by
NHS number, UPN, demographic key and UPRN, whether a contact (or a partner
record's delivery) is known, the decisions waiting for a contact.

`BatchLookups` answers from a few queries made once for a whole consumed
batch (one per kind of key, not one per person) and remembers the people
the batch creates, so two contacts in one batch about the same child match
each other. Every route of a batch loads into the same one (a contact and a
partner record in one batch about the same person match each other too).
`QueryLookups` asks the database each time (the API's path, and
the consumer's careful re-run of a batch that held a poison record)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlmodel import Session, col, select

from frontdoor_contracts.contacts import ContactSubmitted, contact_id_for
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.partners import PartnerRecord

from . import store
from .domain.partner_facts import delivery_key, person_facts
from .domain.people import PersonFacts, demographic_key
from .models import Contact, PartnerRecordApplied, PendingDecision, Person

SESSION_KEY = "contacts.lookups"


class Lookups(Protocol):
    def by_nhs(self, nhs_number: str | None) -> Person | None: ...

    def by_upn(self, upn: str | None) -> Person | None: ...

    def by_demographics(self, key: str | None, kind: str) -> Sequence[Person]: ...

    def by_uprn(self, uprn: str | None) -> Sequence[Person]: ...

    def remember(self, person: Person) -> None: ...

    def note_contact(self, contact_id: uuid.UUID) -> None: ...

    def note_pending(self, pending: PendingDecision) -> None: ...

    def contact_known(self, contact_id: uuid.UUID) -> bool: ...

    def pending_for(self, contact_id: uuid.UUID) -> Sequence[PendingDecision]: ...

    def partner_record_known(self, key: uuid.UUID) -> bool: ...

    def note_partner_record(self, key: uuid.UUID) -> None: ...


class QueryLookups:
    def __init__(self, session: Session):
        self._session = session

    def by_nhs(self, nhs_number: str | None) -> Person | None:
        return store.person_by_nhs(self._session, nhs_number)

    def by_upn(self, upn: str | None) -> Person | None:
        return store.person_by_upn(self._session, upn)

    def by_demographics(self, key: str | None, kind: str) -> Sequence[Person]:
        return store.people_by_demographics(self._session, key, kind)

    def by_uprn(self, uprn: str | None) -> Sequence[Person]:
        return store.people_at_uprn(self._session, uprn)

    def remember(self, person: Person) -> None:
        self._session.flush()  # later queries in this transaction must see them

    def note_contact(self, contact_id: uuid.UUID) -> None:
        pass  # the database knows it once flushed

    def note_pending(self, pending: PendingDecision) -> None:
        pass  # likewise: the next query flushes it

    def contact_known(self, contact_id: uuid.UUID) -> bool:
        return self._session.get(Contact, contact_id) is not None

    def pending_for(self, contact_id: uuid.UUID) -> Sequence[PendingDecision]:
        return store.pending_decisions(self._session, contact_id)

    def partner_record_known(self, key: uuid.UUID) -> bool:
        return self._session.get(PartnerRecordApplied, key) is not None

    def note_partner_record(self, key: uuid.UUID) -> None:
        pass  # the database knows it once flushed


class BatchLookups:
    def __init__(self) -> None:
        self._nhs: dict[str, Person] = {}
        self._upn: dict[str, Person] = {}
        self._demographic: dict[tuple[str, str], list[Person]] = defaultdict(list)
        self._contacts: set[uuid.UUID] = set()
        self._pending: dict[uuid.UUID, list[PendingDecision]] = defaultdict(list)
        self._uprn: dict[str, list[Person]] = defaultdict(list)
        self._partner_records: set[uuid.UUID] = set()

    def by_nhs(self, nhs_number: str | None) -> Person | None:
        return self._nhs.get(nhs_number) if nhs_number else None

    def by_upn(self, upn: str | None) -> Person | None:
        return self._upn.get(upn) if upn else None

    def by_demographics(self, key: str | None, kind: str) -> Sequence[Person]:
        return self._demographic.get((key, kind), []) if key else []

    def by_uprn(self, uprn: str | None) -> Sequence[Person]:
        """In the database's order (`store.at_uprns`), whichever query found
        them; without anyone who moved on from it earlier in the batch."""
        if not uprn:
            return []
        return sorted((p for p in self._uprn.get(uprn, ()) if p.uprn == uprn), key=lambda p: (p.created_at, p.id))

    def remember(self, person: Person) -> None:
        if person.nhs_number:
            self._nhs.setdefault(person.nhs_number, person)
        if person.upn:
            self._upn.setdefault(person.upn, person)
        if person.demographic_key:
            same = self._demographic[(person.demographic_key, person.kind)]
            if all(p.id != person.id for p in same):
                same.append(person)
        if person.uprn:
            at = self._uprn[person.uprn]
            if all(p.id != person.id for p in at):
                at.append(person)

    def contact_known(self, contact_id: uuid.UUID) -> bool:
        return contact_id in self._contacts

    def pending_for(self, contact_id: uuid.UUID) -> Sequence[PendingDecision]:
        return self._pending.get(contact_id, [])

    def note_contact(self, contact_id: uuid.UUID) -> None:
        self._contacts.add(contact_id)

    def note_pending(self, pending: PendingDecision) -> None:
        """A decision parked earlier in this batch waits for its contact too."""
        self._pending[pending.contact_id].append(pending)

    def partner_record_known(self, key: uuid.UUID) -> bool:
        return key in self._partner_records

    def note_partner_record(self, key: uuid.UUID) -> None:
        self._partner_records.add(key)

    def load(self, session: Session, events: Iterable[CloudEvent[ContactSubmitted]]) -> BatchLookups:
        """Three queries for the people, two for the contacts: the whole batch."""
        contact_ids: set[uuid.UUID] = set()
        people: list[PersonFacts] = []
        for event in events:
            contact_ids.add(contact_id_for(event.source, event.id))
            data = event.data
            people += [PersonFacts(c.given_name, c.family_name, c.date_of_birth, c.nhs_number, c.upn, c.postcode)
                       for c in data.children]
            people += [PersonFacts(a.given_name, a.family_name, a.date_of_birth, a.nhs_number, None, a.postcode)
                       for a in data.adults]
        self._load_people(session, people)
        if contact_ids:
            self._contacts |= set(session.exec(select(Contact.id).where(col(Contact.id).in_(contact_ids))).all())
            waiting = (select(PendingDecision).where(col(PendingDecision.contact_id).in_(contact_ids))
                       .order_by(col(PendingDecision.received_at)))
            for pending in session.exec(waiting).all():
                self._pending[pending.contact_id].append(pending)
        return self

    def load_partner_records(self, session: Session, events: Sequence[CloudEvent[PartnerRecord]]) -> BatchLookups:
        """Four queries for the people (by UPRN too), one for the deliveries already applied."""
        keys = {delivery_key(event.source, event.id) for event in events}
        people = [person_facts(event.data.person) for event in events]
        self._load_people(session, people, {uprn for e in events if (uprn := e.data.person.uprn)})
        if keys:
            applied = select(PartnerRecordApplied.id).where(col(PartnerRecordApplied.id).in_(keys))
            self._partner_records |= set(session.exec(applied).all())
        return self

    def _load_people(self, session: Session, people: Iterable[PersonFacts], uprns: set[str] | None = None) -> None:
        nhs: set[str] = set()
        upns: set[str] = set()
        keys: set[str] = set()
        for facts in people:
            nhs.update([facts.nhs_number] if facts.nhs_number else [])
            upns.update([facts.upn] if facts.upn else [])
            key = demographic_key(facts)
            keys.update([key] if key else [])
        found: list[Person] = []
        if nhs:
            found += session.exec(select(Person).where(col(Person.nhs_number).in_(nhs))).all()
        if upns:
            found += session.exec(select(Person).where(col(Person.upn).in_(upns))).all()
        if keys:
            query = select(Person).where(col(Person.demographic_key).in_(keys)).order_by(col(Person.created_at))
            found += session.exec(query).all()
        if uprns:
            found += session.exec(store.at_uprns(uprns)).all()
        for person in found:
            self.remember(person)


def _batch_lookups(session: Session) -> BatchLookups:
    """This batch's look-ups, shared by its routes (one per batch: the session's)."""
    found = session.info.get(SESSION_KEY)
    if not isinstance(found, BatchLookups):
        found = session.info[SESSION_KEY] = BatchLookups()
    return found


def prefetch(session: Session, events: Sequence[CloudEvent[ContactSubmitted]]) -> None:
    _batch_lookups(session).load(session, events)


def prefetch_partner_records(session: Session, events: Sequence[CloudEvent[PartnerRecord]]) -> None:
    _batch_lookups(session).load_partner_records(session, events)


def lookups_for(session: Session) -> Lookups:
    found: Lookups | None = session.info.get(SESSION_KEY)
    return found if found is not None else QueryLookups(session)
