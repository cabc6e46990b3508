"""Partner data for the demo stream (partners.attendance/offending/
employment/health.v1), entirely synthetic, as a council's data team and its
partners would send it:

- about a share of the demo's own families (`PARTNER_SHARE` of the new
  ones, a few contacts after their first): each school-age child's
  attendance for the last three terms (some with 15% or more unauthorised
  absence, or exclusions), sometimes an offence or anti-social behaviour, an
  adult's employment or out-of-work benefits, a health need. Each record
  names its person with exactly the identifiers the demo's contacts gave
  (NHS number, UPN, name + date of birth + postcode) and the household's
  UPRN, so the contacts service matches it to the person and family it
  already knows;
- about families known only from data (one every `DATA_ONLY_EVERY`
  contacts): never in a contact, every record with the household's UPRN (so
  the contacts service makes them one family), with two or three headline
  problems, so the outcomes service identifies them in data and the
  allocation service opens a case.

Deterministic for a seed, from a random generator of its own (the contact
stream stays what it was). Record refs and event ids come from the same
generator: a seeded run sent twice is a redelivery, two unseeded runs never
share a ref."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from frontdoor_contracts.contacts import Adult
from frontdoor_contracts.contacts import Child as ChildData
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.partners import (
    AttendanceMeasure,
    AttendanceRecorded,
    EmploymentMeasure,
    EmploymentRecorded,
    HealthMeasure,
    HealthNeedRecorded,
    OffendingMeasure,
    OffendingRecorded,
    PartnerPerson,
)
from frontdoor_contracts.topics import PARTNERS_ATTENDANCE, PARTNERS_EMPLOYMENT, PARTNERS_HEALTH, PARTNERS_OFFENDING
from frontdoor_contracts.vocabulary import EmploymentStatus, HealthNeed, OffenceKind, PartnerDataset, SchoolTerm

from .demo import (
    ADULT_GIVEN,
    FAMILY_NAMES,
    GIVEN_NAMES,
    RELATIONSHIPS,
    SCHOOL_URNS,
    Family,
    nhs_number,
    postcode,
    upn,
)

SOURCES: dict[PartnerDataset, str] = {
    PartnerDataset.ATTENDANCE: "urn:frontdoor:demo:schools-data",
    PartnerDataset.OFFENDING: "urn:frontdoor:demo:community-safety",
    PartnerDataset.EMPLOYMENT: "urn:frontdoor:demo:dwp-feed",
    PartnerDataset.HEALTH: "urn:frontdoor:demo:health",
}
TOPICS: dict[PartnerDataset, str] = {
    PartnerDataset.ATTENDANCE: PARTNERS_ATTENDANCE.name,
    PartnerDataset.OFFENDING: PARTNERS_OFFENDING.name,
    PartnerDataset.EMPLOYMENT: PARTNERS_EMPLOYMENT.name,
    PartnerDataset.HEALTH: PARTNERS_HEALTH.name,
}
REF_PREFIX = {PartnerDataset.ATTENDANCE: "ATT", PartnerDataset.OFFENDING: "CSP", PartnerDataset.EMPLOYMENT: "DWP",
              PartnerDataset.HEALTH: "HLT"}
RECORDS = {PartnerDataset.ATTENDANCE: AttendanceRecorded, PartnerDataset.OFFENDING: OffendingRecorded,
           PartnerDataset.EMPLOYMENT: EmploymentRecorded, PartnerDataset.HEALTH: HealthNeedRecorded}

PARTNER_SHARE = 0.4  # of the demo's new families, partner data follows
PARTNER_LAG = 8  # that many contacts after the family's first (so the contact is usually recorded first)
DATA_ONLY_EVERY = 10  # a family known only from data every this many contacts
TROUBLED_ATTENDANCE = 0.35  # of the demo families' school-age children: 15%+ unauthorised absence or exclusions
OFFENDING_SHARE = 0.3
EMPLOYMENT_SHARE = 0.5  # of the demo families' adults
HEALTH_SHARE = 0.3
# Families known only from data get UPNs under another made-up LA number, so none is a demo contact's child's.
DATA_ONLY_LA_CODE = "998"
PROBLEMS = ("attendance", "offending", "workless", "health")  # what a data-only family's records show

# School terms: (term, start month, day, end month, day, sessions possible in the whole term).
TERMS = ((SchoolTerm.AUTUMN, 9, 3, 12, 19, 140), (SchoolTerm.SPRING, 1, 6, 3, 27, 118),
         (SchoolTerm.SUMMER, 4, 21, 7, 22, 130))
SCHOOL_FROM, SCHOOL_UNTIL = 4, 16  # ages at the term's start with a school attendance record


@dataclass(frozen=True)
class Term:
    academic_year: str
    term: SchoolTerm
    starts_on: date
    sessions: int  # possible so far (the whole term once it is over)


@dataclass(frozen=True)
class PartnerRecord:
    dataset: PartnerDataset
    topic: str
    key: str  # the partner's record_ref (the topic's key)
    value: str  # the CloudEvent, structured JSON


def _weekdays(start: date, end: date) -> int:
    return sum(1 for n in range((end - start).days + 1) if (start + timedelta(days=n)).weekday() < 5)


def recent_terms(today: date, count: int = 3) -> list[Term]:
    """The last `count` terms begun by `today`, oldest first; the one under
    way has the sessions possible so far (two a school day)."""
    found = []
    for year in range(today.year - 2, today.year + 1):  # academic year year/year+1
        for term, month, day, end_month, end_day, full in TERMS:
            calendar_year = year if term is SchoolTerm.AUTUMN else year + 1
            starts_on, ends_on = date(calendar_year, month, day), date(calendar_year, end_month, end_day)
            if starts_on > today:
                continue
            sessions = full if ends_on <= today else max(2, min(full, 2 * _weekdays(starts_on, today)))
            found.append(Term(f"{year}/{(year + 1) % 100:02d}", term, starts_on, sessions))
    return sorted(found, key=lambda t: t.starts_on)[-count:]


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def adult_from(born: date) -> date:
    try:
        return born.replace(year=born.year + 18)
    except ValueError:  # 29 February
        return date(born.year + 18, 3, 1)


@dataclass
class PartnerFeed:
    """Builds the partner records; `demo.demo_batches` decides when they go."""

    seed: int | None = None
    rng: random.Random = field(init=False)
    data_families: list[Family] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(None if self.seed is None else f"partners:{self.seed}")

    def takes(self) -> bool:
        """Whether partner data follows a new demo family."""
        return self.rng.random() < PARTNER_SHARE

    def _uprn(self, family: Family) -> str:
        if family.uprn is None:
            family.uprn = f"99{self.rng.randrange(10**10):010d}"
        return family.uprn

    def _event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _record(self, dataset: PartnerDataset, person: PartnerPerson,
                measure: AttendanceMeasure | OffendingMeasure | EmploymentMeasure | HealthMeasure,
                now: datetime) -> PartnerRecord:
        ref = f"{REF_PREFIX[dataset]}-{self.rng.getrandbits(48):012X}"
        data = RECORDS[dataset].model_validate({"record_ref": ref, "person": person, "measure": measure})
        event = new_event(data, source=SOURCES[dataset], subject=dataset.value, time=now, event_id=self._event_id())
        return PartnerRecord(dataset, TOPICS[dataset], ref, event.model_dump_json())

    # --- people, as the partner knows them: the same identifiers the contacts gave -------------------------------

    @staticmethod
    def _person(who: ChildData | Adult, uprn: str) -> PartnerPerson | None:
        if who.date_of_birth is None:
            return None  # nothing a partner record could name them by
        return PartnerPerson(nhs_number=who.nhs_number, upn=who.upn if isinstance(who, ChildData) else None,
                             given_name=who.given_name, family_name=who.family_name,
                             date_of_birth=who.date_of_birth, postcode=who.postcode, uprn=uprn)

    # --- measures --------------------------------------------------------------------------------------------------

    def _attendance(self, child: ChildData, person: PartnerPerson, troubled: bool, today: date,
                    now: datetime) -> list[PartnerRecord]:
        rng = self.rng
        kind = rng.choice(("absence", "exclusions", "both")) if troubled else ""
        records = []
        for term in recent_terms(today):
            if not SCHOOL_FROM <= age_on(child.date_of_birth, term.starts_on) < SCHOOL_UNTIL:
                continue
            share = rng.uniform(0.18, 0.35) if kind in ("absence", "both") else rng.uniform(0.0, 0.08)
            exclusions = rng.choice((1, 1, 2)) if kind in ("exclusions", "both") else int(rng.random() < 0.03)
            measure = AttendanceMeasure(academic_year=term.academic_year, term=term.term,
                                        term_starts_on=term.starts_on, sessions_possible=term.sessions,
                                        unauthorised_absences=min(term.sessions, round(share * term.sessions)),
                                        fixed_term_exclusions=exclusions)
            records.append(self._record(PartnerDataset.ATTENDANCE, person, measure, now))
        return records

    def _offending(self, people: list[tuple[ChildData | Adult, PartnerPerson]], today: date,
                   now: datetime) -> list[PartnerRecord]:
        """One to three offences or ASB incidents in the last 300 days, of one
        person (more often a child of 11 or more, when there is one)."""
        rng = self.rng
        youths = [(w, p) for w, p in people if isinstance(w, ChildData) and age_on(p.date_of_birth, today) >= 11]
        adults = [(w, p) for w, p in people if isinstance(w, Adult)]
        pool = youths if youths and (not adults or rng.random() < 0.6) else adults
        if not pool:
            return []
        _, person = rng.choice(pool)
        earliest = today - timedelta(days=300)  # within the year; a youth is 11 or more, so 10 or more then
        records = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            occurred_on = earliest + timedelta(days=rng.randrange(max(1, (today - earliest).days)))
            kind = OffenceKind.ANTI_SOCIAL_BEHAVIOUR if rng.random() < 0.6 else OffenceKind.PROVEN_OFFENCE
            measure = OffendingMeasure(occurred_on=occurred_on, kind=kind,
                                       youth=occurred_on < adult_from(person.date_of_birth))
            records.append(self._record(PartnerDataset.OFFENDING, person, measure, now))
        return records

    def _employment(self, person: PartnerPerson, workless: bool, today: date, now: datetime) -> PartnerRecord:
        rng = self.rng
        earliest = max(adult_from(person.date_of_birth), today - timedelta(days=900))
        starts_on = earliest + timedelta(days=rng.randrange(max(1, (today - earliest).days - 30)))
        if workless:
            status = EmploymentStatus.UNEMPLOYED if rng.random() < 0.7 else EmploymentStatus.ECONOMICALLY_INACTIVE
            measure = EmploymentMeasure(status=status, out_of_work_benefit=True, starts_on=starts_on)
        else:
            measure = EmploymentMeasure(status=EmploymentStatus.EMPLOYED, out_of_work_benefit=False,
                                        starts_on=starts_on)
        return self._record(PartnerDataset.EMPLOYMENT, person, measure, now)

    def _health(self, who: ChildData | Adult, person: PartnerPerson, today: date, now: datetime,
                baby_in_family: bool) -> PartnerRecord:
        rng = self.rng
        if isinstance(who, ChildData):
            categories = [HealthNeed.MENTAL_HEALTH, HealthNeed.PHYSICAL_HEALTH, HealthNeed.DISABILITY]
        else:
            categories = [HealthNeed.MENTAL_HEALTH, HealthNeed.SUBSTANCE_MISUSE, HealthNeed.PHYSICAL_HEALTH,
                          HealthNeed.DISABILITY] + ([HealthNeed.PERINATAL] if baby_in_family else [])
        earliest = max(person.date_of_birth, today - timedelta(days=300))
        identified_on = earliest + timedelta(days=rng.randrange(max(1, (today - earliest).days)))
        measure = HealthMeasure(category=rng.choice(categories), identified_on=identified_on)
        return self._record(PartnerDataset.HEALTH, person, measure, now)

    # --- families ----------------------------------------------------------------------------------------------------

    def _people(self, family: Family) -> list[tuple[ChildData | Adult, PartnerPerson]]:
        uprn = self._uprn(family)
        made: list[tuple[ChildData | Adult, PartnerPerson]] = []
        who: Iterable[ChildData | Adult] = [*family.children, *family.adults]
        for person in who:
            named = self._person(person, uprn)
            if named is not None:
                made.append((person, named))
        return made

    def about(self, family: Family, now: datetime | None = None) -> list[PartnerRecord]:
        """Partner records about one of the demo's families (its people as its contacts named them)."""
        rng, now = self.rng, now or datetime.now(UTC)
        today = now.date()
        people = self._people(family)
        records: list[PartnerRecord] = []
        for who, person in people:
            if isinstance(who, ChildData) and who.school_urn:
                records += self._attendance(who, person, rng.random() < TROUBLED_ATTENDANCE, today, now)
        if rng.random() < OFFENDING_SHARE:
            records += self._offending(people, today, now)
        for who, person in people:
            if isinstance(who, Adult) and rng.random() < EMPLOYMENT_SHARE:
                records.append(self._employment(person, rng.random() < 0.65, today, now))
        if people and rng.random() < HEALTH_SHARE:
            who, person = rng.choice(people)
            records.append(self._health(who, person, today, now, self._baby(family, today)))
        return records

    @staticmethod
    def _baby(family: Family, today: date) -> bool:
        return any(age_on(c.date_of_birth, today) < 2 for c in family.children)

    def _data_only_family(self, today: date, taken: set[str]) -> Family:
        rng = self.rng

        def nhs() -> str:
            while True:
                number = nhs_number(rng)
                if number not in taken:
                    taken.add(number)
                    return number

        family = Family(family_name=rng.choice(FAMILY_NAMES), postcode=postcode(rng), children=[], adults=[])
        for index in range(rng.choice((1, 2, 2, 3))):
            # the first child is of school age (the school's records name the family's children)
            born = today - timedelta(days=rng.randrange(6 * 365, 15 * 365) if index == 0
                                     else rng.randrange(200, 16 * 365))
            urn = rng.choice(SCHOOL_URNS) if age_on(born, today) >= 5 else None
            family.children.append(ChildData(
                ref=f"child-{index + 1}", given_name=rng.choice(GIVEN_NAMES), family_name=family.family_name,
                date_of_birth=born, nhs_number=nhs() if rng.random() < 0.8 else None,
                upn=upn(rng, urn, born.year + 5, DATA_ONLY_LA_CODE) if urn else None, postcode=family.postcode,
                school_urn=urn))
        for index in range(rng.choice((1, 1, 2))):
            family.adults.append(Adult(
                ref=f"adult-{index + 1}", given_name=rng.choice(ADULT_GIVEN), family_name=family.family_name,
                date_of_birth=today - timedelta(days=rng.randrange(22 * 365, 50 * 365)),
                nhs_number=nhs() if rng.random() < 0.6 else None, postcode=family.postcode,
                relationship=rng.choice(RELATIONSHIPS)))
        return family

    def data_only(self, now: datetime | None = None, taken: set[str] | None = None) -> list[PartnerRecord]:
        """A family known only from data, with two or three headline problems
        in its records; `taken`: NHS numbers the demo has used (not reused)."""
        rng, now = self.rng, now or datetime.now(UTC)
        today = now.date()
        family = self._data_only_family(today, taken if taken is not None else set())
        self.data_families.append(family)
        problems = set(rng.sample(PROBLEMS, rng.choice((2, 2, 3))))
        people = self._people(family)
        pupils = [(w, p) for w, p in people if isinstance(w, ChildData) and w.school_urn]
        troubled = rng.choice(pupils)[0] if "attendance" in problems else None
        records: list[PartnerRecord] = []
        for who, person in pupils:
            records += self._attendance(who, person, who is troubled, today, now)
        if "offending" in problems:
            records += self._offending(people, today, now)
        adults = [(w, p) for w, p in people if isinstance(w, Adult)]
        if "workless" in problems:
            records.append(self._employment(rng.choice(adults)[1], True, today, now))
        elif rng.random() < 0.5:
            records.append(self._employment(rng.choice(adults)[1], False, today, now))
        if "health" in problems:
            someone, named = rng.choice(people)
            records.append(self._health(someone, named, today, now, self._baby(family, today)))
        return records
