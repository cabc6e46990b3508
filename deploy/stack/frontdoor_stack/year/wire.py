"""The year's people and the events about them as they go on the wire,
built with the contracts' models and the demo's synthetic identities
(`frontdoor_stack.demo`: obviously fake names, NHS numbers in the 999 test
range with valid check digits, ZZ99 pseudo-postcodes), every NHS number
used once in the year so no two families are ever matched together."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from frontdoor_contracts.allocation import case_id_for
from frontdoor_contracts.contacts import (
    Child,
    ContactSubmitted,
    DAChild,
    DAIncident,
    DecisionSubmitted,
    contact_id_for,
)
from frontdoor_contracts.envelope import encode_event, new_event
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_contracts.vocabulary import Concern, Decision, LevelOfNeed, ReferrerSource

from ..demo import CASE_SYSTEM_SOURCE, Family, make_family, nhs_number, source_uri, upn
from .events import Publish


def event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class Household:
    """One of the year's families: its people (as contacts name them) and its key."""

    key: str
    people: Family
    child_keys: tuple[str, ...]


@dataclass
class People:
    """Makes households; no NHS number twice."""

    rng: random.Random
    taken: set[str] = field(default_factory=set)
    made: int = 0

    def _unique(self, number: str | None) -> str | None:
        if number is None:
            return None
        while number in self.taken:
            number = nhs_number(self.rng)
        self.taken.add(number)
        return number

    def _unique_upn(self, child: Child) -> str | None:
        if child.upn is None or child.school_urn is None:
            return child.upn
        number = child.upn
        while number in self.taken:
            number = upn(self.rng, child.school_urn, child.date_of_birth.year + 5)
        self.taken.add(number)
        return number

    def household(self, children: int, today: date) -> Household:
        self.made += 1
        family = make_family(self.rng, children, today)
        family.children = [c.model_copy(update={"nhs_number": self._unique(c.nhs_number), "upn": self._unique_upn(c)})
                           for c in family.children]
        family.adults = [a.model_copy(update={"nhs_number": self._unique(a.nhs_number)}) for a in family.adults]
        key = f"F{self.made:06d}"
        return Household(key, family, tuple(f"{key}/{c.ref}" for c in family.children))

    def nhs(self) -> str:
        number = self._unique(nhs_number(self.rng))
        assert number is not None
        return number


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def contact_event(rng: random.Random, household: Household, referrer: ReferrerSource, concerns: list[Concern],
                  received_at: datetime, incident_at: datetime | None, present_share: float,
                  police_reference: str | None) -> tuple[Publish, uuid.UUID, list[Child]]:
    """The ContactSubmitted (published at `received_at`), its contact id and the incident's children."""
    children = household.people.children
    incident = None
    involved: list[Child] = []
    if incident_at is not None and police_reference is not None:
        involved = children[: rng.randint(1, len(children))]
        incident = DAIncident(occurred_at=incident_at, police_reference=police_reference,
                              children=[DAChild(child_ref=c.ref, present=rng.random() < present_share)
                                        for c in involved])
    data = ContactSubmitted(referrer_source=referrer, received_at=received_at, children=children,
                            adults=household.people.adults, concerns=concerns, da_incident=incident)
    source = source_uri(referrer)
    event = new_event(data, source=source, subject="contact", time=received_at, event_id=event_id(rng))
    contact_id = contact_id_for(source, event.id)
    return Publish(received_at, FRONTDOOR_CONTACTS.name, event.id, encode_event(event)), contact_id, involved


def decision_event(rng: random.Random, contact_id: uuid.UUID, decision: Decision, level: LevelOfNeed,
                   decided_at: datetime) -> Publish:
    data = DecisionSubmitted(contact_id=contact_id, decision=decision, level_of_need=level,
                             rationale=f"Year rationale: MASH agreed {decision.value}.",
                             decided_by=f"year.practitioner.{rng.randint(1, 12)}", decided_at=decided_at)
    event = new_event(data, source=CASE_SYSTEM_SOURCE, subject=str(contact_id), time=decided_at,
                      event_id=event_id(rng))
    return Publish(decided_at, FRONTDOOR_DECISIONS.name, str(contact_id), encode_event(event))


def decision_case_id(contacts_source: str, contact_id: uuid.UUID) -> uuid.UUID:
    """The case a decision on `contact_id` opens: the contacts service publishes contacts.decided.v1 with the
    id uuid5(contact_id, "decided") from its source URI; the allocation service derives the case from it."""
    return case_id_for(contacts_source, str(uuid.uuid5(contact_id, "decided")))


def police_reference(serial: int, at: datetime) -> str:
    return f"YEAR/{serial:06d}/{at.year % 100:02d}"


def birth_before(today: date, rng: random.Random, low_years: int, high_years: int) -> date:
    return today - timedelta(days=rng.randrange(low_years * 365, high_years * 365))
