"""People named in an event, matched to the people index or added to it,
and placed in a family: the one way a contact's children and adults and a
partner record's person are matched.

This module alone reads the people the facts could be (through `lookups`),
asks `domain.people` for the decision (`judge`, `plan_family`) and writes
what was decided onto the people index (and, for a contact that links two
families, `store.merge_families`). The rules are `domain.people`'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, overload

from sqlmodel import Session

from frontdoor_contracts.contacts import Adult, Child, ContactSubmitted

from . import store
from .domain.people import Candidates, KnownPerson, PersonFacts, Refusal, demographic_key, judge, plan_family
from .lookups import Lookups, people_named
from .models import Person


@dataclass(frozen=True)
class Matched:
    person: Person
    created: bool


@dataclass(frozen=True)
class Placed:
    """A partner record's person and their family."""

    person: Person
    created: bool
    family_id: uuid.UUID


@dataclass(frozen=True)
class ContactPeople:
    """A contact's children and adults, each with the person they are, and the family the contact is about
    (`merged`: the families the contact linked into it)."""

    children: list[tuple[Child, Person]]
    adults: list[tuple[Adult, Person]]
    family_id: uuid.UUID
    merged: tuple[uuid.UUID, ...]


def match_contact(lookups: Lookups, session: Session, contact: ContactSubmitted, contact_id: uuid.UUID,
                  now: datetime) -> ContactPeople:
    """Match every child, then every adult, and place them: the children in the family `plan_family` gives
    (merging the others it names), an adult without a family in it too."""
    people: list[Person] = []
    for kind, facts in people_named(contact):
        people.append(_match(lookups, session, facts, kind, now).person)
    children = list(zip(contact.children, people[:len(contact.children)], strict=True))
    adults = list(zip(contact.adults, people[len(contact.children):], strict=True))
    plan = plan_family([p.family_id for _, p in children], [p.family_id for _, p in adults])
    if plan.merged:
        store.merge_families(session, plan.family_id, plan.merged, contact_id, now)
    for child, person in children:
        person.school_urn = child.school_urn or person.school_urn
        person.family_id = plan.family_id
        session.add(person)
    for _, person in adults:
        person.family_id = person.family_id or plan.family_id
    return ContactPeople(children, adults, plan.family_id, plan.merged)


def match_partner_person(lookups: Lookups, session: Session, facts: PersonFacts, kind: str, uprn: str | None,
                         fact_id: uuid.UUID, now: datetime) -> Placed | Refusal:
    """The person a partner record is about, or why it is refused. A person it creates is marked as created
    from `fact_id`. The family: a person who has one keeps it; else the family of the people already at
    the record's UPRN, the longest known first (`plan_family`, as if they were a contact's adults); else a
    new one. The person's UPRN is then the record's (the latest one given, like the postcode)."""
    matched = _match(lookups, session, facts, kind, now, strict=True)
    if isinstance(matched, Refusal):
        return matched
    person = matched.person
    if matched.created:
        person.created_from_fact_id = fact_id
    at_uprn = [p for p in lookups.by_uprn(uprn) if p.id != person.id]
    lookups.settle(at_uprn)
    family_id = plan_family([person.family_id], [p.family_id for p in at_uprn]).family_id
    person.family_id, person.uprn = family_id, uprn or person.uprn
    session.add(person)
    lookups.remember(person)
    return Placed(person, matched.created, family_id)


@overload
def _match(lookups: Lookups, session: Session, facts: PersonFacts, kind: str, now: datetime,
           *, strict: Literal[False] = False) -> Matched: ...


@overload
def _match(lookups: Lookups, session: Session, facts: PersonFacts, kind: str, now: datetime,
           *, strict: bool) -> Matched | Refusal: ...


def _match(lookups: Lookups, session: Session, facts: PersonFacts, kind: str, now: datetime,
           *, strict: bool = False) -> Matched | Refusal:
    """Read who the facts could be, ask the rules who they are, and write down what the facts add."""
    key = demographic_key(facts)
    by_nhs, by_upn = _live(lookups.by_nhs(facts.nhs_number)), _live(lookups.by_upn(facts.upn))
    by_demographics = {p.id: p for p in lookups.by_demographics(key, kind) if _live(p) is not None}
    rows = {p.id: p for p in (by_nhs, by_upn, *by_demographics.values()) if p is not None}
    lookups.settle(list(rows.values()))  # their families locked: nobody moves them until this commits
    known = {p.id: KnownPerson(p.id, p.nhs_number, p.upn, p.postcode, p.date_of_birth, p.demographic_key)
             for p in rows.values()}
    found = Candidates(known[by_nhs.id] if by_nhs is not None else None,
                       known[by_upn.id] if by_upn is not None else None,
                       tuple(known[person_id] for person_id in by_demographics))
    verdict = judge(facts, found, strict=strict)
    if isinstance(verdict, Refusal):
        return verdict
    if verdict.match is None:
        person = Person(id=uuid.uuid4(), kind=kind, given_name=facts.given_name, family_name=facts.family_name,
                        created_at=now)
    else:
        person = rows[verdict.match.person_id]
    now_known = verdict.now_known
    person.nhs_number, person.upn, person.postcode = now_known.nhs_number, now_known.upn, now_known.postcode
    person.date_of_birth, person.demographic_key = now_known.date_of_birth, now_known.demographic_key
    session.add(person)
    lookups.remember(person)
    return Matched(person, created=verdict.match is None)


def _live(person: Person | None) -> Person | None:
    """An erased person is nobody's match (their identifiers are blank; a batch's cache may still hold them
    as they were before the erasure)."""
    return person if person is not None and person.erased_at is None else None
