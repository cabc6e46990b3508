"""A seeded synthetic year for the outcomes service, and the KPI figures
computed from the generator's own lists (plain loops here, never the
service's code).

What it makes, as the other services would publish it:
- contacts.recorded.v1 / contacts.decided.v1: contacts from every referrer
  source, police domestic abuse (DA) contacts, MASH decisions (referrals,
  Early Help, advice, signposting, NFA), repeat contacts for the same
  children so that some referrals are re-referrals (flags set by the
  generator's own rule: the same child referred within the previous 12
  months, the contracts' `within_twelve_months`, as the contacts service
  flags them);
- allocation.case-opened / case-allocated / offer-made / case-closed.v1 for
  families with one Early Help decision, offers taking 1 to 20 days,
  closures in the ClosureOutcome categories, and some families coming back
  after closure;
- notifications.delivered.v1 for DA notifications (before the school day,
  after it, deadline unknown) and some of another kind;
- contacts.partner-fact-matched.v1 for families known only from partner
  data: one headline problem (never identified), or two (identified once,
  at the second fact); some of those get a case (identified in data) and,
  of them, some improve (out of work into work, no more anti-social
  behaviour), which gives an outcome achieved and a results claim whose
  days the generator predicts.

The families are built so that each has at most one case, and only
partner-data families have two headline problems, so each outcome event
(identified, achieved, claim) is due at most once per family, and its
time follows from the facts whatever order the topics are read in: the
partner facts of a family share a partition (keyed by family), and the
cases of partner families are published in a later phase (`phase_b`),
after the facts they follow."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from outcomes_e2e_kit import Out

from frontdoor_contracts.allocation import CaseAllocated, CaseClosed, CaseOpened, OfferMade
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, DecidedChild, RecordedChild
from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.notifications import NotificationDelivered
from frontdoor_contracts.partners import (
    AttendanceMeasure,
    EmploymentMeasure,
    HealthMeasure,
    OffendingMeasure,
    PartnerFactMatched,
)
from frontdoor_contracts.periods import window_end, within_twelve_months

START = datetime(2021, 4, 1, tzinfo=UTC)  # a year no other test publishes in
END = datetime(2022, 4, 1, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")

SOURCES = {"police": 28, "school": 20, "health": 12, "gp": 6, "health_visitor": 6, "la_service": 10,
           "voluntary_sector": 6, "family_self": 6, "public": 6}
DECISIONS = {"s47_strategy_discussion": 5, "social_care_assessment": 13, "early_help": 25,
             "advice_early_help_assessment": 10, "signposted": 17, "no_further_action": 30}
REFERRALS = {"s47_strategy_discussion", "social_care_assessment"}
DA_DECISIONS = {"signposted": 40, "no_further_action": 60}  # DA families: no second headline problem from decisions
CLOSURES = {"positive_outcome": 61, "no_change": 10, "deterioration": 7, "too_early_to_say": 20,
            "resolved_by_information_and_advice": 5, "escalated_to_higher_level_services": 3}
AGENCIES = [("school-101", "school"), ("school-102", "school"), ("hv-north", "health_visiting"),
            ("sn-central", "school_nursing"), ("vcs-homestart", "voluntary_sector"), ("la-eh-1", "la_early_help"),
            ("la-eh-2", "la_early_help"), ("police-eh", "police"), ("housing-1", "housing")]
CONCERNS = ["neglect", "mental_health", "school_attendance", "emotional_abuse", "drug_misuse", "missing"]
CONTACTS_SOURCE, ALLOCATION_SOURCE = "urn:frontdoor:contacts", "urn:frontdoor:allocation"
NOTIFICATIONS_SOURCE = "urn:frontdoor:notifications"


def london_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class Family:
    family_id: uuid.UUID
    children: list[uuid.UUID]
    da: bool
    contacts: list[Contact] = field(default_factory=list)
    has_case: bool = False


@dataclass
class Contact:
    contact_id: uuid.UUID
    family: Family
    source: str
    received_at: datetime
    decided_at: datetime
    decision: str
    da: bool
    flags: dict[uuid.UUID, tuple[bool, bool]] = field(default_factory=dict)  # child -> (referral, re-referral)


@dataclass(frozen=True)
class Case:
    case_id: uuid.UUID
    family_id: uuid.UUID
    children: list[uuid.UUID]
    opened_at: datetime
    allocated: tuple[str, str, datetime] | None
    offer: tuple[int, bool, datetime] | None  # days taken, within target, offered at
    closed: tuple[str, datetime] | None


@dataclass(frozen=True)
class PartnerFamily:
    family_id: uuid.UUID
    child_id: uuid.UUID
    adult_id: uuid.UUID
    problems: tuple[str, ...]  # sorted; two: identified at the second fact
    identified_at: datetime | None
    case_id: uuid.UUID | None = None
    opened_at: datetime | None = None
    achieved_at: datetime | None = None  # predicted: plan start + 182 (first good period) + 182 (sustained)
    claim: tuple[str, datetime] | None = None  # predicted basis and time


@dataclass
class SyntheticYear:
    """`phase_a`: everything but the cases of partner-data families, which are `phase_b`."""

    seed: int
    contact_count: int
    partner_count: int
    partner_cases: bool = True
    start: datetime = START
    end: datetime = END
    phase_a: list[Out] = field(default_factory=list)
    phase_b: list[Out] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    deliveries: list[tuple[str, bool | None, datetime]] = field(default_factory=list)  # kind, before deadline, at
    partner: list[PartnerFamily] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._first_contact: dict[uuid.UUID, Contact] = {}
        self._contacts()
        self._cases()
        self._came_back()
        self._flags()
        self._partner_families()
        self._emit()

    # --- times --------------------------------------------------------------------------------------------------

    def _at(self, day: float | date, hour: int | None = None) -> datetime:
        """A working-hours UTC time on `day` (days after the start, or a date)."""
        when = self.start + timedelta(days=int(day)) if not isinstance(day, date) else datetime.combine(
            day, time(0), tzinfo=UTC)
        return when.replace(hour=self.rng.randint(8, 16) if hour is None else hour, minute=self.rng.randrange(60),
                            second=self.rng.randrange(60), microsecond=0)

    def _inside(self, moment: datetime) -> bool:
        return self.start + timedelta(days=1) <= moment < self.end - timedelta(days=2)

    # --- contacts, decisions ------------------------------------------------------------------------------------

    def _new_family(self, da: bool) -> Family:
        family = Family(uuid.uuid4(), [uuid.uuid4() for _ in range(self.rng.choice((1, 1, 2, 2, 3)))], da)
        self.families.append(family)
        return family

    def _contact(self, family: Family, received_at: datetime, source: str | None = None) -> Contact:
        rng = self.rng
        if family.da:
            source, da = "police", True
        else:
            source, da = source or pick(rng, SOURCES), False
        decided_at = self._at(london_day(received_at) + timedelta(days=rng.randint(0, 2)), rng.randint(9, 16))
        if decided_at <= received_at:
            decided_at += timedelta(days=1)
        decision = pick(rng, DA_DECISIONS if da else DECISIONS)
        contact = Contact(uuid.uuid4(), family, source, received_at, decided_at, decision, da)
        family.contacts.append(contact)
        self.contacts.append(contact)
        return contact

    def _contacts(self) -> None:
        rng = self.rng
        referred: list[Family] = []
        repeatable: list[Family] = []  # not DA: a DA family has one contact
        for _ in range(self.contact_count):
            received = self._at(rng.uniform(1, 355))
            if repeatable and rng.random() < 0.18:
                family = rng.choice(referred) if referred and rng.random() < 0.6 else rng.choice(repeatable)
                contact = self._contact(family, received)
            else:
                source = pick(rng, SOURCES)
                family = self._new_family(da=source == "police" and rng.random() < 0.4)
                contact = self._contact(family, received, source)
                if not family.da:
                    repeatable.append(family)
            if contact.decision in REFERRALS:
                referred.append(contact.family)

    def _cases(self) -> None:
        """A case for most families whose only contact was decided Early Help, opened at the decision."""
        rng = self.rng
        for family in self.families:
            if len(family.contacts) != 1 or family.contacts[0].decision != "early_help" or rng.random() > 0.7:
                continue
            decided = family.contacts[0].decided_at
            opened_at = decided + timedelta(minutes=5)
            if not self._inside(opened_at + timedelta(days=1)):
                continue
            family.has_case = True
            allocated = offer = closed = None
            days = rng.choices(range(1, 21), weights=[3, 5, 7, 9, 10, 10, 10, 9, 8, 7, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1])[0]
            allocated_after = timedelta(days=rng.randint(0, days - 1), hours=1)
            if rng.random() < 0.92 and self._inside(decided + allocated_after):
                agency_id, kind = rng.choice(AGENCIES)
                allocated = (agency_id, kind, decided + allocated_after)
                offered_at = decided + timedelta(days=days)
                if rng.random() < 0.9 and self._inside(offered_at):
                    offer = (days, days <= 10, offered_at)
                    closed_at = self._at(london_day(offered_at) + timedelta(days=rng.randint(30, 200)), 14)
                    if rng.random() < 0.85 and self._inside(closed_at):
                        closed = (pick(rng, CLOSURES), closed_at)
            self.cases.append(Case(uuid.uuid4(), family.family_id, list(family.children), opened_at, allocated,
                                   offer, closed))
            self._first_contact[family.family_id] = family.contacts[0]

    def _came_back(self) -> None:
        """Some families whose case closed come back: a contact after the closure (no second case)."""
        rng = self.rng
        by_id = {f.family_id: f for f in self.families}
        for case in self.cases:
            if case.closed is None or rng.random() > 0.3:
                continue
            received = self._at(london_day(case.closed[1]) + timedelta(days=rng.randint(5, 420)))
            if self._inside(received + timedelta(days=4)):
                self._contact(by_id[case.family_id], received)

    def _flags(self) -> None:
        """Referral and re-referral flags per child, in decision order: a referral is a re-referral when the
        same child had a referral decided within the 12 months before (the contracts' calendar months)."""
        last: dict[uuid.UUID, datetime] = {}
        for contact in sorted(self.contacts, key=lambda c: c.decided_at):
            referral = contact.decision in REFERRALS
            for child in contact.family.children:
                again = referral and child in last and within_twelve_months(last[child], contact.decided_at)
                contact.flags[child] = (referral, again)
                if referral:
                    last[child] = contact.decided_at

    # --- partner data -------------------------------------------------------------------------------------------

    def _partner_families(self) -> None:
        rng = self.rng
        for _ in range(self.partner_count):
            kind = rng.choices(["single", "crime_work", "attendance_health"], weights=[30, 45, 25])[0]
            family_id, child_id, adult_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            t1 = self._at(rng.uniform(5, 200), 11)
            t2 = t1 + timedelta(days=rng.randint(3, 40), hours=1)
            if kind == "single":
                if rng.random() < 0.5:
                    self._fact(family_id, child_id, True, t1, self._attendance(t1))
                else:
                    self._fact(family_id, child_id, True, t1, HealthMeasure(
                        category="physical_health", identified_on=london_day(t1) - timedelta(days=3)))
                self.partner.append(PartnerFamily(family_id, child_id, adult_id, (), None))
                continue
            if kind == "attendance_health":
                self._fact(family_id, child_id, True, t1, self._attendance(t1))
                self._fact(family_id, adult_id, False, t2, HealthMeasure(
                    category="mental_health", identified_on=london_day(t2) - timedelta(days=5)))
                self.partner.append(PartnerFamily(family_id, child_id, adult_id, ("health", "school_attendance"),
                                                  t2))
                continue
            self._fact(family_id, child_id, True, t1, OffendingMeasure(
                occurred_on=london_day(t1) - timedelta(days=7), kind="anti_social_behaviour", youth=True))
            out_of_work = uuid.uuid4()
            workless = EmploymentMeasure(status="unemployed", out_of_work_benefit=True,
                                         starts_on=london_day(t1) - timedelta(days=150))
            self._fact(family_id, adult_id, False, t2, workless, fact_id=out_of_work)
            family = PartnerFamily(family_id, child_id, adult_id, ("crime_asb", "worklessness"), t2)
            if self.partner_cases and rng.random() < 0.5:
                family = self._partner_case(family, out_of_work, workless, improving=rng.random() < 0.5)
            self.partner.append(family)

    def _partner_case(self, family: PartnerFamily, out_of_work: uuid.UUID, workless: EmploymentMeasure,
                      improving: bool) -> PartnerFamily:
        """A case opened two days after the identification; improving: the adult's benefit claim ends 30 days
        into the plan (the partner replaces its record) and they start work the next day, for good."""
        assert family.identified_at is not None
        opened_at = self._at(london_day(family.identified_at) + timedelta(days=2), 10)
        plan_start = london_day(opened_at)
        case_id = uuid.uuid4()
        self.phase_b.append(Out("allocation.case-opened.v1", str(case_id), new_event(CaseOpened(
            case_id=case_id, family_id=family.family_id, source="identified_in_data",
            started_at=family.identified_at, due_at=london_midnight(london_day(family.identified_at)
                                                                    + timedelta(days=11)),
            opened_at=opened_at, child_ids=[family.child_id], headline_problems=list(family.problems),
            target_days=10, target_calendar="calendar_days"), source=ALLOCATION_SOURCE, time=opened_at)))
        achieved = claim = None
        if improving:
            ended = plan_start + timedelta(days=30)
            self._fact(family.family_id, family.adult_id, False, self._at(ended + timedelta(days=1), 11),
                       workless.model_copy(update={"ends_on": ended}), fact_id=out_of_work)
            self._fact(family.family_id, family.adult_id, False, self._at(ended + timedelta(days=2), 11),
                       EmploymentMeasure(status="employed", out_of_work_benefit=False,
                                         starts_on=ended + timedelta(days=1)))
            # Crime: the first 182-day period after the plan start has no offence (the baseline had one ASB);
            # work: from day 30. Every target met from day 182, sustained 182 days later. Work for 26 weeks
            # from day 31 (day 213) is a claim before that.
            achieved = london_midnight(plan_start + timedelta(days=364))
            claim = ("continuous_employment", london_midnight(ended + timedelta(days=1 + 182)))
        return PartnerFamily(family.family_id, family.child_id, family.adult_id, family.problems,
                             family.identified_at, case_id, opened_at, achieved, claim)

    def _attendance(self, at: datetime) -> AttendanceMeasure:
        """A term with 20% unauthorised absence (the threshold is 15%)."""
        term_start = london_day(at) - timedelta(days=30)
        year = term_start.year if term_start.month >= 9 else term_start.year - 1
        term = "autumn" if term_start.month >= 9 else "spring" if term_start.month < 4 else "summer"
        return AttendanceMeasure(academic_year=f"{year}/{(year + 1) % 100:02d}", term=term,
                                 term_starts_on=term_start, sessions_possible=120, unauthorised_absences=24,
                                 fixed_term_exclusions=0)

    def _fact(self, family_id: uuid.UUID, person_id: uuid.UUID, is_child: bool, at: datetime, measure: Any,
              fact_id: uuid.UUID | None = None) -> None:
        data = PartnerFactMatched(fact_id=fact_id or uuid.uuid4(), person_id=person_id, family_id=family_id,
                                  is_child=is_child, person_created=False, matched_at=at, measure=measure)
        self.phase_a.append(Out("contacts.partner-fact-matched.v1", str(family_id),
                                new_event(data, source=CONTACTS_SOURCE, subject=str(data.fact_id), time=at)))

    def more_facts(self, rng: random.Random) -> list[Out]:
        """One more fact for each family identified without a case (a later ASB incident): no second
        identification."""
        extra: list[Out] = []
        for family in self.partner:
            if family.identified_at is None or family.case_id is not None:
                continue
            at = family.identified_at + timedelta(days=rng.randint(20, 60))
            data = PartnerFactMatched(
                fact_id=uuid.uuid4(), person_id=family.child_id, family_id=family.family_id, is_child=True,
                person_created=False, matched_at=at, measure=OffendingMeasure(
                    occurred_on=london_day(at) - timedelta(days=2), kind="anti_social_behaviour", youth=True))
            extra.append(Out("contacts.partner-fact-matched.v1", str(family.family_id),
                             new_event(data, source=CONTACTS_SOURCE, subject=str(data.fact_id), time=at)))
        return extra

    # --- events -------------------------------------------------------------------------------------------------

    def _event(self, topic: str, key: uuid.UUID, data: EventData, source: str, at: datetime) -> tuple[datetime, Out]:
        return at, Out(topic, str(key), new_event(data, source=source, time=at))

    def _emit(self) -> None:
        timed: list[tuple[datetime, Out]] = []
        rng = self.rng
        for c in self.contacts:
            concerns = ["domestic_abuse"] if c.da else rng.sample(CONCERNS, rng.randint(1, 2))
            timed.append(self._event("contacts.recorded.v1", c.contact_id, ContactRecorded(
                contact_id=c.contact_id, family_id=c.family.family_id, referrer_source=c.source, channel="kafka",
                received_at=c.received_at, children=[RecordedChild(child_id=child) for child in c.family.children],
                adult_count=rng.randint(0, 2), concerns=concerns, da_incident=c.da), CONTACTS_SOURCE, c.received_at))
            children = [DecidedChild(child_id=child, referral=referral, re_referral=again)
                        for child, (referral, again) in c.flags.items()]
            timed.append(self._event("contacts.decided.v1", c.contact_id, ContactDecided(
                contact_id=c.contact_id, family_id=c.family.family_id, decision=c.decision, level_of_need=3,
                decided_at=c.decided_at, referrer_source=c.source, concerns=concerns, children=children,
                referral=c.decision in REFERRALS, re_referral=any(again for _, again in c.flags.values())),
                CONTACTS_SOURCE, c.decided_at))
            if c.da:
                for _child in c.family.children:
                    delivered_at = c.received_at + timedelta(hours=rng.randint(1, 20))
                    before = rng.choices([True, False, None], weights=[90, 8, 2])[0]
                    timed.append(self._delivery("da_incident", before, delivered_at))
        for case in self.cases:
            timed += self._case_events(case)
        timed.sort(key=lambda pair: pair[0])
        facts = self.phase_a  # the partner facts, already in each family's order
        self.phase_a = [out for _, out in timed]
        # interleave the partner facts by time, keeping each family's order (a stable merge)
        merged = sorted([(out.event.time, 0, i, out) for i, out in enumerate(self.phase_a)]
                        + [(out.event.time, 1, i, out) for i, out in enumerate(facts)],
                        key=lambda item: (item[0], item[1], item[2]))
        self.phase_a = [out for *_, out in merged]

    def _delivery(self, kind: str, before: bool | None, at: datetime) -> tuple[datetime, Out]:
        notification_id = uuid.uuid4()
        self.deliveries.append((kind, before, at))
        return self._event("notifications.delivered.v1", notification_id, NotificationDelivered(
            notification_id=notification_id, kind=kind, recipient="100123", channel="webhook", delivered_at=at,
            deadline=None if before is None else at + timedelta(hours=3 if before else -2), before_deadline=before,
            attempts=1), NOTIFICATIONS_SOURCE, at)

    def _case_events(self, case: Case) -> list[tuple[datetime, Out]]:
        family = self._first_contact[case.family_id]
        started = family.decided_at
        common: dict[str, Any] = dict(case_id=case.case_id, family_id=case.family_id, source="early_help_decision",
                                      started_at=started,
                                      due_at=london_midnight(london_day(started) + timedelta(days=11)))
        events = [self._event("allocation.case-opened.v1", case.case_id, CaseOpened(
            **common, opened_at=case.opened_at, child_ids=case.children, contact_id=family.contact_id,
            decision="early_help", level_of_need=3, concerns=["neglect"], target_days=10,
            target_calendar="calendar_days"), ALLOCATION_SOURCE, case.opened_at)]
        if case.allocated is not None:
            agency_id, kind, at = case.allocated
            events.append(self._event("allocation.case-allocated.v1", case.case_id, CaseAllocated(
                **common, allocated_at=at, lead_agency_id=agency_id, agency_kind=kind, lead_professional_ref="lp-7",
                allocated_by="coordinator-1", at_meeting=True), ALLOCATION_SOURCE, at))
            if self.rng.random() < 0.5:
                events.append(self._delivery("case_allocated", None, at + timedelta(minutes=3)))
        if case.offer is not None and case.allocated is not None:
            days, within, at = case.offer
            events.append(self._event("allocation.offer-made.v1", case.case_id, OfferMade(
                **common, offered_at=at, lead_agency_id=case.allocated[0], agency_kind=case.allocated[1],
                days_taken=days, target_calendar="calendar_days", within_target=within), ALLOCATION_SOURCE, at))
        if case.closed is not None and case.allocated is not None:
            outcome, at = case.closed
            events.append(self._event("allocation.case-closed.v1", case.case_id, CaseClosed(
                **common, closed_at=at, outcome=outcome, child_ids=case.children, lead_agency_id=case.allocated[0],
                agency_kind=case.allocated[1], closed_by="lp-7"), ALLOCATION_SOURCE, at))
        return events

    @property
    def events(self) -> int:
        return len(self.phase_a) + len(self.phase_b)


# --- the figures, from the generator's lists --------------------------------------------------------------------

def fig(numerator: int, denominator: int) -> dict[str, int]:
    return {"numerator": numerator, "denominator": denominator}


def expected_figures(years: list[SyntheticYear], start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """The headline KPIs of [start, end) over everything the generators made, counted here."""

    def inside(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    contacts = [c for y in years for c in y.contacts]
    cases = [c for y in years for c in y.cases]
    partner = [p for y in years for p in y.partner]
    deliveries = [d for y in years for d in y.deliveries]

    received = [c for c in contacts if inside(c.received_at)]
    by_source = {s: sum(1 for c in received if c.source == s) for s in SOURCES}
    decided = [c for c in contacts if inside(c.decided_at)]
    by_decision = {d: sum(1 for c in decided if c.decision == d) for d in DECISIONS}
    child_referrals = [again for c in decided for referral, again in c.flags.values() if referral]

    offers = [case.offer for case in cases if case.offer is not None and inside(case.offer[2])]
    da = [before for kind, before, at in deliveries if kind == "da_incident" and inside(at)]

    closed = [case for case in cases if case.closed is not None and inside(case.closed[1])]
    closed_children = {child for case in closed for child in case.children}
    by_category = {o: len({child for case in closed if case.closed and case.closed[0] == o
                           for child in case.children}) for o in CLOSURES}
    by_category_cases = {o: sum(1 for case in closed if case.closed and case.closed[0] == o) for o in CLOSURES}
    decisions_of: dict[uuid.UUID, list[tuple[str, datetime]]] = defaultdict(list)
    for c in contacts:
        decisions_of[c.family.family_id].append((c.decision, c.decided_at))
    known = [case for case in closed if case.closed and now >= window_end(case.closed[1])]  # its 12 months over

    def back(case: Case, kinds: set[str]) -> bool:
        assert case.closed is not None
        closed_at = case.closed[1]
        return any(d in kinds and within_twelve_months(closed_at, at) for d, at in decisions_of[case.family_id])

    allocations = [case.allocated for case in cases if case.allocated is not None and inside(case.allocated[2])]

    identified = [p for p in partner if inside(p.identified_at)]
    planned = [p for p in partner if p.case_id is not None and inside(p.opened_at)]
    claims = [p for p in partner if p.claim is not None and inside(p.claim[1])]
    return {
        "contacts": {"total": len(received), "by_source": {s: fig(n, len(received)) for s, n in by_source.items()}},
        "decisions": {"total": len(decided), "by_decision": by_decision,
                      "statutory_threshold": fig(sum(by_decision[d] for d in REFERRALS), len(decided)),
                      "early_help": fig(by_decision["early_help"], len(decided))},
        "re_referrals": fig(sum(child_referrals), len(child_referrals)),
        "spa_to_offer": {"offers": len(offers), "within_target": fig(sum(1 for o in offers if o[1]), len(offers)),
                         "total_days": sum(o[0] for o in offers),
                         "by_days": {str(d): sum(1 for o in offers if o[0] == d)
                                     for d in sorted({o[0] for o in offers})}},
        "da_notifications": {"before_school_day": fig(sum(1 for b in da if b is True),
                                                      sum(1 for b in da if b is not None)),
                             "without_deadline": sum(1 for b in da if b is None)},
        "closures": {"cases": len(closed), "children": len(closed_children),
                     "child_closures": sum(len(case.children) for case in closed),
                     "by_category": {o: fig(n, len(closed_children)) for o, n in by_category.items()},
                     "by_category_cases": {o: fig(n, len(closed)) for o, n in by_category_cases.items()}},
        "closed_cases": {"closed": len(closed), "not_yet_known": len(closed) - len(known),
                         "not_re_referred_to_early_help": fig(sum(not back(c, {"early_help"}) for c in known),
                                                              len(known)),
                         "not_re_referred_to_social_care": fig(sum(not back(c, REFERRALS) for c in known),
                                                               len(known))},
        "lead_professionals": {"allocations": len(allocations), "organisations": len({a[0] for a in allocations})},
        "families": {
            "identified": len(identified),
            "identified_by_problem": {p: sum(1 for f in identified if p in f.problems)
                                      for p in ("children_in_need", "crime_asb", "domestic_abuse", "health",
                                                "school_attendance", "worklessness")},
            "with_plans": len(planned),
            "sustained": len({p.family_id for p in partner if inside(p.achieved_at)}),
            "claim_eligible_by_basis": {basis: sum(1 for p in claims if p.claim and p.claim[0] == basis)
                                        for basis in sorted({p.claim[0] for p in claims if p.claim})},
            "plans_sustained": fig(sum(1 for p in planned if p.achieved_at is not None and p.achieved_at < now),
                                   len(planned))},
    }


def reported_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The same figures, read from the service's report (JSON)."""

    def f(figure: dict[str, Any]) -> dict[str, int]:
        return {"numerator": figure["numerator"], "denominator": figure["denominator"]}

    offers = report["spa_to_offer"]
    closures, closed, families = report["closures"], report["closed_cases"], report["families"]
    return {
        "contacts": {"total": report["contacts"]["total"],
                     "by_source": {s: f(v) for s, v in report["contacts"]["by_source"].items()}},
        "decisions": {"total": report["decisions"]["total"], "by_decision": report["decisions"]["by_decision"],
                      "statutory_threshold": f(report["decisions"]["statutory_threshold"]),
                      "early_help": f(report["decisions"]["early_help"])},
        "re_referrals": f(report["re_referrals"]["rate"]),
        "spa_to_offer": {"offers": offers["offers"], "within_target": f(offers["within_target"]),
                         "total_days": offers["mean_days"]["numerator"],
                         "by_days": {str(d): n for d, n in offers["by_days"].items()}},
        "da_notifications": {"before_school_day": f(report["da_notifications"]["before_school_day"]),
                             "without_deadline": report["da_notifications"]["without_deadline"]},
        "closures": {"cases": closures["cases"], "children": closures["children"],
                     "child_closures": closures["child_closures"],
                     "by_category": {o: f(v) for o, v in closures["by_category"].items()},
                     "by_category_cases": {o: f(v) for o, v in closures["by_category_cases"].items()}},
        "closed_cases": {"closed": closed["closed"], "not_yet_known": closed["not_yet_known"],
                         "not_re_referred_to_early_help": f(closed["not_re_referred_to_early_help"]),
                         "not_re_referred_to_social_care": f(closed["not_re_referred_to_social_care"])},
        "lead_professionals": {"allocations": report["lead_professionals"]["allocations"],
                               "organisations": report["lead_professionals"]["organisations"]},
        "families": {"identified": families["identified"], "identified_by_problem": families["identified_by_problem"],
                     "with_plans": families["with_plans"], "sustained": families["sustained"],
                     "claim_eligible_by_basis": families["claim_eligible_by_basis"],
                     "plans_sustained": f(families["plans_sustained"])},
    }
