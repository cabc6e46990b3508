"""A realistic, entirely synthetic demo stream: contacts from front-door
systems on frontdoor.contacts.v1, then MASH decisions on most of them on
frontdoor.decisions.v1. `demo_partners` adds partner data about the same
people (and families known only from data), `case_worker` works the Early
Help cases that open, and `demo_feed` publishes it all with a plain Kafka
producer (`frontdoor-stack demo`, `make run`).

Names are obviously fake; NHS numbers are in the 999 test range with valid
check digits; postcodes are in the ZZ99 pseudo-postcode area. About one
contact in five is about a family seen before (same NHS numbers), so people
matching and re-referrals show. With a seed, everything generated is the
same every time (the contacts and decisions as before the partner data came:
the partner data and the case worker draw from random generators of their
own).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from frontdoor_contracts.contacts import (
    Adult,
    ContactSubmitted,
    DAChild,
    DAIncident,
    DecisionSubmitted,
    contact_id_for,
)
from frontdoor_contracts.contacts import Child as ChildData
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.identifiers import nhs_check_digit, upn_check_letter
from frontdoor_contracts.vocabulary import AgencyKind, Concern, Decision, LevelOfNeed, ReferrerSource

GIVEN_NAMES = (
    "Pixel", "Widget", "Sprocket", "Gizmo", "Doodle", "Noodle", "Biscuit", "Pebble", "Waffle", "Muffin",
    "Button", "Crumpet", "Sparkle", "Tinsel", "Zigzag", "Marble", "Pickle", "Nugget", "Toffee", "Bobbin",
)
FAMILY_NAMES = (
    "Testerton", "Fakeley", "Mockford", "Sampleton", "Dummyworth", "Placeholder", "Synthetica",
    "Examplewood", "Demoshire", "Stubbington", "Fixtureby", "Notarealname",
)
ADULT_GIVEN = ("Parentina", "Guardianne", "Carer-Bob", "Adultus", "Grownup", "Mumsie", "Dadley")
RELATIONSHIPS = ("mother", "father", "step-parent", "partner of parent", "grandparent", "carer")

# Rough shape of a real front door: police a third, then schools and health.
SOURCE_WEIGHTS: dict[ReferrerSource, int] = {
    ReferrerSource.POLICE: 30,
    ReferrerSource.SCHOOL: 18,
    ReferrerSource.HEALTH: 10,
    ReferrerSource.GP: 5,
    ReferrerSource.HEALTH_VISITOR: 6,
    ReferrerSource.LA_SERVICE: 9,
    ReferrerSource.VOLUNTARY_SECTOR: 5,
    ReferrerSource.FAMILY_SELF: 7,
    ReferrerSource.PUBLIC: 10,
}
CONCERNS_BY_SOURCE: dict[ReferrerSource, tuple[Concern, ...]] = {
    ReferrerSource.POLICE: (Concern.DOMESTIC_ABUSE, Concern.MISSING, Concern.CCE, Concern.GANGS,
                            Concern.ALCOHOL_MISUSE, Concern.DRUG_MISUSE, Concern.PHYSICAL_ABUSE),
    ReferrerSource.SCHOOL: (Concern.SCHOOL_ATTENDANCE, Concern.NEGLECT, Concern.EMOTIONAL_ABUSE,
                            Concern.SELF_HARM, Concern.YOUNG_CARER, Concern.EXCLUSION, Concern.PHYSICAL_ABUSE),
    ReferrerSource.HEALTH: (Concern.SELF_HARM, Concern.MENTAL_HEALTH, Concern.PHYSICAL_ABUSE, Concern.FGM,
                            Concern.NEGLECT),
    ReferrerSource.GP: (Concern.MENTAL_HEALTH, Concern.NEGLECT, Concern.DRUG_MISUSE, Concern.ALCOHOL_MISUSE),
    ReferrerSource.HEALTH_VISITOR: (Concern.NEGLECT, Concern.MENTAL_HEALTH, Concern.DOMESTIC_ABUSE),
    ReferrerSource.LA_SERVICE: (Concern.HOMELESSNESS, Concern.NEGLECT, Concern.UNACCOMPANIED_ASYLUM_SEEKER,
                                Concern.PRIVATELY_FOSTERED),
    ReferrerSource.VOLUNTARY_SECTOR: (Concern.YOUNG_CARER, Concern.HOMELESSNESS, Concern.EMOTIONAL_ABUSE),
    ReferrerSource.FAMILY_SELF: (Concern.EMOTIONAL_ABUSE, Concern.SOCIALLY_UNACCEPTABLE_BEHAVIOUR,
                                 Concern.MENTAL_HEALTH),
    ReferrerSource.PUBLIC: (Concern.NEGLECT, Concern.PHYSICAL_ABUSE, Concern.OTHER),
}
DECISION_WEIGHTS: dict[Decision, int] = {
    Decision.S47_STRATEGY_DISCUSSION: 8,
    Decision.SOCIAL_CARE_ASSESSMENT: 22,
    Decision.EARLY_HELP: 25,
    Decision.ADVICE_EARLY_HELP_ASSESSMENT: 12,
    Decision.SIGNPOSTED: 13,
    Decision.NO_FURTHER_ACTION: 20,
}
LEVEL_FOR_DECISION: dict[Decision, tuple[LevelOfNeed, ...]] = {
    Decision.S47_STRATEGY_DISCUSSION: (LevelOfNeed.SPECIALIST,),
    Decision.SOCIAL_CARE_ASSESSMENT: (LevelOfNeed.SPECIALIST, LevelOfNeed.TARGETED),
    Decision.EARLY_HELP: (LevelOfNeed.TARGETED,),
    Decision.ADVICE_EARLY_HELP_ASSESSMENT: (LevelOfNeed.UNIVERSAL_PLUS, LevelOfNeed.TARGETED),
    Decision.SIGNPOSTED: (LevelOfNeed.UNIVERSAL_PLUS, LevelOfNeed.UNIVERSAL),
    Decision.NO_FURTHER_ACTION: (LevelOfNeed.UNIVERSAL,),
}
LA_CODE = "999"  # not a real local authority number
SCHOOL_URNS = tuple(str(100000 + 1733 * i) for i in range(1, 25))
# The agencies a coordinator allocates the demo's Early Help cases to (`POST /v1/cases/{id}/allocation` with
# one of these `lead_agency_id`s), with their kind; the stack puts each in the notifications directory, beside
# the Early Help manager (told of overdue offers).
DEMO_AGENCIES: tuple[tuple[str, str, AgencyKind], ...] = (
    ("hv-team-3", "Demo Health Visiting Team 3", AgencyKind.HEALTH_VISITING),
    ("eh-team-north", "Demo Early Help Team North", AgencyKind.LA_EARLY_HELP),
    ("school-nursing-1", "Demo School Nursing Service", AgencyKind.SCHOOL_NURSING),
    ("family-hub-east", "Demo Family Hub East (voluntary sector)", AgencyKind.VOLUNTARY_SECTOR),
)
EARLY_HELP_MANAGER = "early-help-manager"
DECISION_SHARE = 0.85
REPEAT_FAMILY_SHARE = 0.2
DECISION_LAG = 5  # decisions follow their contact after this many further contacts
CASE_SYSTEM_SOURCE = "urn:frontdoor:demo:case-system"


def source_uri(referrer: ReferrerSource) -> str:
    return f"urn:frontdoor:demo:{referrer.value.replace('_', '-')}"


def nhs_number(rng: random.Random) -> str:
    while True:
        first_nine = "999" + "".join(rng.choice("0123456789") for _ in range(6))
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


def upn(rng: random.Random, school_urn: str, year_of_entry: int, la_code: str = LA_CODE) -> str:
    body = la_code + school_urn[-4:] + f"{year_of_entry % 100:02d}" + f"{rng.randrange(1000):03d}"
    return upn_check_letter(body) + body


def postcode(rng: random.Random) -> str:
    return f"ZZ99 {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"


@dataclass
class Family:
    family_name: str
    postcode: str
    children: list[ChildData]
    adults: list[Adult]
    contacts: int = 0
    uprn: str | None = None  # the household's (synthetic) UPRN, given when partner data first names it


def make_child(rng: random.Random, family: Family, index: int, today: date) -> ChildData:
    age_days = rng.randrange(30, 17 * 365)
    dob = today - timedelta(days=age_days)
    at_school = age_days > 4 * 365
    urn = rng.choice(SCHOOL_URNS) if at_school else None
    return ChildData(
        ref=f"child-{index + 1}",
        given_name=rng.choice(GIVEN_NAMES),
        family_name=family.family_name,
        date_of_birth=dob,
        nhs_number=nhs_number(rng) if rng.random() < 0.85 else None,
        upn=upn(rng, urn, dob.year + 5) if urn and rng.random() < 0.7 else None,
        postcode=family.postcode,
        school_urn=urn,
    )


def make_adult(rng: random.Random, family: Family, index: int, today: date) -> Adult:
    return Adult(
        ref=f"adult-{index + 1}",
        given_name=rng.choice(ADULT_GIVEN),
        family_name=family.family_name,
        date_of_birth=today - timedelta(days=rng.randrange(19 * 365, 55 * 365)),
        nhs_number=nhs_number(rng) if rng.random() < 0.6 else None,
        postcode=family.postcode,
        relationship=rng.choice(RELATIONSHIPS),
    )


def make_family(rng: random.Random, children: int, today: date) -> Family:
    family = Family(family_name=rng.choice(FAMILY_NAMES), postcode=postcode(rng), children=[], adults=[])
    family.children = [make_child(rng, family, i, today) for i in range(children)]
    family.adults = [make_adult(rng, family, i, today) for i in range(rng.choice((1, 1, 2)))]
    return family


@dataclass
class DemoStream:
    """Deterministic for a given seed: builds the events; `demo_feed.publish` sends them."""

    seed: int | None = None
    rng: random.Random = field(init=False)
    families: list[Family] = field(default_factory=list)
    # The family the latest contact was about, and whether it was new then (partner data follows new ones).
    last_family: Family | None = field(default=None, init=False)
    last_was_new: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _new_family(self, children: int, today: date) -> Family:
        family = make_family(self.rng, children, today)
        self.families.append(family)
        return family

    def _family(self, children: int, today: date) -> Family:
        if self.families and self.rng.random() < REPEAT_FAMILY_SHARE:
            self.last_was_new = False
            return self.rng.choice(self.families)  # seen before: matching and re-referrals
        self.last_was_new = True
        return self._new_family(children, today)

    def contact(self, now: datetime | None = None) -> tuple[str, str, str]:
        """One ContactSubmitted event: (key, CloudEvent JSON, contact id)."""
        rng = self.rng
        now = now or datetime.now(UTC)
        referrer = rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()))[0]
        police_da = referrer is ReferrerSource.POLICE and rng.random() < 0.8
        wanted_children = rng.choice((1, 2, 3)) if police_da else rng.choice((1, 1, 1, 2, 3))
        family = self._family(wanted_children, now.date())
        family.contacts += 1
        self.last_family = family
        children = family.children
        concerns = {rng.choice(CONCERNS_BY_SOURCE[referrer])}
        if rng.random() < 0.3:
            concerns.add(rng.choice(list(Concern)))
        incident = None
        if police_da:
            concerns.add(Concern.DOMESTIC_ABUSE)
            involved = children[: rng.randint(1, min(3, len(children)))]
            incident = DAIncident(
                occurred_at=now - timedelta(hours=rng.randint(2, 60)),
                police_reference=f"DEMO/{rng.randrange(10**6):06d}/{now.year % 100:02d}",
                children=[DAChild(child_ref=c.ref, present=rng.random() < 0.7) for c in involved],
            )
        data = ContactSubmitted(
            referrer_source=referrer,
            received_at=now - timedelta(minutes=rng.randint(0, 90)),
            children=children,
            adults=family.adults,
            concerns=sorted(concerns, key=lambda c: c.value),
            da_incident=incident,
        )
        source = source_uri(referrer)
        event = new_event(data, source=source, subject="contact", time=now)
        contact_id = str(contact_id_for(source, event.id))
        return event.id, event.model_dump_json(), contact_id

    def decision(self, contact_id: str, now: datetime | None = None) -> tuple[str, str]:
        """One DecisionSubmitted event on `contact_id`: (key, CloudEvent JSON)."""
        rng = self.rng
        now = now or datetime.now(UTC)
        decision = rng.choices(list(DECISION_WEIGHTS), weights=list(DECISION_WEIGHTS.values()))[0]
        data = DecisionSubmitted(
            contact_id=uuid.UUID(contact_id),
            decision=decision,
            level_of_need=rng.choice(LEVEL_FOR_DECISION[decision]),
            rationale=f"Demo rationale: MASH reviewed the information shared and agreed {decision.value}.",
            decided_by=f"demo.practitioner.{rng.randint(1, 9)}",
            decided_at=now,
        )
        event = new_event(data, source=CASE_SYSTEM_SOURCE, subject=contact_id, time=now)
        return contact_id, event.model_dump_json()
