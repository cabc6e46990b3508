"""What recording a contact needs to look up: people by NHS number, UPN and
demographic key, whether a contact is known, the decisions waiting for it.

`BatchLookups` answers from a few queries made once for a whole consumed
batch (one per kind of key, not one per person) and remembers the people
the batch creates, so two contacts in one batch about the same child match
each other. `QueryLookups` asks the database each time (the API's path, and
the consumer's careful re-run of a batch that held a poison record)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlmodel import Session, col, select

from frontdoor_contracts.contacts import ContactSubmitted, contact_id_for
from frontdoor_contracts.envelope import CloudEvent

from . import store
from .domain.people import PersonFacts, demographic_key
from .models import Contact, PendingDecision, Person

SESSION_KEY = "contacts.lookups"


class Lookups(Protocol):
    def by_nhs(self, nhs_number: str | None) -> Person | None: ...

    def by_upn(self, upn: str | None) -> Person | None: ...

    def by_demographics(self, key: str | None, kind: str) -> Sequence[Person]: ...

    def remember(self, person: Person) -> None: ...

    def note_contact(self, contact_id: uuid.UUID) -> None: ...

    def note_pending(self, pending: PendingDecision) -> None: ...

    def contact_known(self, contact_id: uuid.UUID) -> bool: ...

    def pending_for(self, contact_id: uuid.UUID) -> Sequence[PendingDecision]: ...


class QueryLookups:
    def __init__(self, session: Session):
        self._session = session

    def by_nhs(self, nhs_number: str | None) -> Person | None:
        return store.person_by_nhs(self._session, nhs_number)

    def by_upn(self, upn: str | None) -> Person | None:
        return store.person_by_upn(self._session, upn)

    def by_demographics(self, key: str | None, kind: str) -> Sequence[Person]:
        return store.people_by_demographics(self._session, key, kind)

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


class BatchLookups:
    def __init__(self) -> None:
        self._nhs: dict[str, Person] = {}
        self._upn: dict[str, Person] = {}
        self._demographic: dict[tuple[str, str], list[Person]] = defaultdict(list)
        self._contacts: set[uuid.UUID] = set()
        self._pending: dict[uuid.UUID, list[PendingDecision]] = defaultdict(list)

    def by_nhs(self, nhs_number: str | None) -> Person | None:
        return self._nhs.get(nhs_number) if nhs_number else None

    def by_upn(self, upn: str | None) -> Person | None:
        return self._upn.get(upn) if upn else None

    def by_demographics(self, key: str | None, kind: str) -> Sequence[Person]:
        return self._demographic.get((key, kind), []) if key else []

    def remember(self, person: Person) -> None:
        if person.nhs_number:
            self._nhs.setdefault(person.nhs_number, person)
        if person.upn:
            self._upn.setdefault(person.upn, person)
        if person.demographic_key:
            same = self._demographic[(person.demographic_key, person.kind)]
            if all(p.id != person.id for p in same):
                same.append(person)

    def contact_known(self, contact_id: uuid.UUID) -> bool:
        return contact_id in self._contacts

    def pending_for(self, contact_id: uuid.UUID) -> Sequence[PendingDecision]:
        return self._pending.get(contact_id, [])

    def note_contact(self, contact_id: uuid.UUID) -> None:
        self._contacts.add(contact_id)

    def note_pending(self, pending: PendingDecision) -> None:
        """A decision parked earlier in this batch waits for its contact too."""
        self._pending[pending.contact_id].append(pending)

    def load(self, session: Session, events: Iterable[CloudEvent[ContactSubmitted]]) -> BatchLookups:
        """Three queries for the people, two for the contacts: the whole batch."""
        nhs: set[str] = set()
        upns: set[str] = set()
        keys: set[str] = set()
        contact_ids: set[uuid.UUID] = set()
        for event in events:
            contact_ids.add(contact_id_for(event.source, event.id))
            data = event.data
            people = [PersonFacts(c.given_name, c.family_name, c.date_of_birth, c.nhs_number, c.upn, c.postcode)
                      for c in data.children]
            people += [PersonFacts(a.given_name, a.family_name, a.date_of_birth, a.nhs_number, None, a.postcode)
                       for a in data.adults]
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
        for person in found:
            self.remember(person)
        if contact_ids:
            self._contacts = set(session.exec(select(Contact.id).where(col(Contact.id).in_(contact_ids))).all())
            waiting = (select(PendingDecision).where(col(PendingDecision.contact_id).in_(contact_ids))
                       .order_by(col(PendingDecision.received_at)))
            for pending in session.exec(waiting).all():
                self._pending[pending.contact_id].append(pending)
        return self


def prefetch(session: Session, events: Sequence[CloudEvent[ContactSubmitted]]) -> None:
    session.info[SESSION_KEY] = BatchLookups().load(session, events)


def lookups_for(session: Session) -> Lookups:
    found: Lookups | None = session.info.get(SESSION_KEY)
    return found if found is not None else QueryLookups(session)
