"""A person named in an event, matched to the people index or added to it:
the one way contacts' children and adults and partner data's people are
matched (the rules are `domain.people`'s; the look-ups `lookups`')."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from . import store
from .domain.people import KnownPerson, PersonFacts, StoredPerson, choose_match, demographic_key, filled_in
from .lookups import Lookups
from .models import Person


@dataclass(frozen=True)
class Candidates:
    """The people the facts could be: by NHS number, by UPN, by name + date of birth + postcode."""

    by_nhs: Person | None
    by_upn: Person | None
    by_demographics: tuple[Person, ...]

    def known(self) -> tuple[KnownPerson | None, KnownPerson | None, list[KnownPerson]]:
        return (store.known(self.by_nhs), store.known(self.by_upn),
                [k for p in self.by_demographics if (k := store.known(p))])


@dataclass(frozen=True)
class Matched:
    person: Person
    created: bool


def candidates(lookups: Lookups, facts: PersonFacts, kind: str) -> Candidates:
    by_demographics = {p.id: p for p in lookups.by_demographics(demographic_key(facts), kind)}
    return Candidates(lookups.by_nhs(facts.nhs_number), lookups.by_upn(facts.upn), tuple(by_demographics.values()))


def settle(lookups: Lookups, session: Session, facts: PersonFacts, kind: str, found: Candidates,
           now: datetime) -> Matched:
    """The person the facts describe among `found`, or a new one; either way
    with what the facts add to what was known."""
    match = choose_match(facts, *found.known())
    if match is None:
        person = Person(id=uuid.uuid4(), kind=kind, given_name=facts.given_name, family_name=facts.family_name,
                        date_of_birth=facts.date_of_birth, created_at=now)
    else:
        person = next(p for p in (found.by_nhs, found.by_upn, *found.by_demographics)
                      if p is not None and p.id == match.person_id)
    by_nhs, by_upn = found.by_nhs, found.by_upn
    known = StoredPerson(person.nhs_number, person.upn, person.postcode, person.date_of_birth, person.demographic_key)
    now_known = filled_in(known, facts, nhs_taken=by_nhs is not None and by_nhs.id != person.id,
                          upn_taken=by_upn is not None and by_upn.id != person.id)
    person.nhs_number, person.upn, person.postcode = now_known.nhs_number, now_known.upn, now_known.postcode
    person.date_of_birth, person.demographic_key = now_known.date_of_birth, now_known.demographic_key
    session.add(person)
    lookups.remember(person)
    return Matched(person, created=match is None)


def match_or_create(lookups: Lookups, session: Session, facts: PersonFacts, kind: str, now: datetime) -> Person:
    return settle(lookups, session, facts, kind, candidates(lookups, facts, kind), now).person
