"""The seeds' year, generated: `generate(params, seed, start, months)` yields
the business events of a borough's front door in time order (see
`events.py`), deterministic for a seed.

New families come to the front door through the year (`first_contact_share`
of `contacts_per_year`), mostly in office hours; the MASH decides each
contact the same working day or the next. Families come back: a referred
child's family is referred again (`returns_after_referral`: re-referrals
arise from that, per child, as the contacts service counts them), others
return with a new contact (`returns_after_other`), and a family whose Early
Help case closed comes back to Early Help or to social care within 12 months
at the seeds' rates (and otherwise not within those 12 months). Early Help
decisions and reviewed NFAs open cases (`cases.py` plans each one's life);
the outcomes service's identifications in data open others
(`identification.py`), among them those of families known only from
partner records (`partners.py`). Arrivals stop after the first 12 months;
the rest of the horizon (the follow-up) carries on what is under way."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

from frontdoor_contracts.periods import months_after
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, CaseSource, Decision, LevelOfNeed

from .calendar import at_local, local_date, next_working_day, start_of
from .cases import CasePlanner, Deck, Opened
from .events import AchievedFact, AckFact, Acknowledge, CaseRef, ContactFact, DecisionFact, Expect, YearEvent
from .families import NEEDS_HELP, FamilyState, FrontDoor, Reason
from .parameters import Parameters
from .partners import data_family, into_work
from .timing import acknowledgement_time, contact_time, decision_time, school_deadline
from .wire import People, contact_event, decision_case_id, decision_event, police_reference

SUSTAIN_DAYS = 182


def _yes_no(share: float) -> dict[str, float]:
    return {"yes": share, "no": 1 - share}


def year_end(start: datetime, months: int = 12) -> datetime:
    return start_of(months_after(local_date(start), months))


class Year:
    def __init__(self, params: Parameters, seed: int, start: datetime, months: int, follow_up_months: int):
        self.params, self.start = params, start
        self.end = year_end(start, months)
        self.horizon = year_end(start, months + follow_up_months)
        rng = self.rng = random.Random(f"year:{seed}")
        self.people = People(random.Random(f"people:{seed}"))
        self.door = FrontDoor(random.Random(f"door:{seed}"), params)
        self.planner = CasePlanner(random.Random(f"cases:{seed}"), params, self.horizon)
        self.returns = Deck(rng, {"early_help": params.share("back_to_early_help_after_closure"),
                                  "social_care": params.share("back_to_social_care_after_closure"),
                                  "none": 1 - params.share("back_to_early_help_after_closure")
                                  - params.share("back_to_social_care_after_closure")})
        self.again_referred = Deck(rng, _yes_no(params.share("returns_after_referral")))
        self.again = Deck(rng, _yes_no(params.share("returns_after_other")))
        self.terms = params.school_terms
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.out: list[tuple[datetime, int, YearEvent]] = []
        self.seq = 0
        self.incidents = 0

    # --- scheduling ------------------------------------------------------------------------------------------------

    def later(self, at: datetime, kind: str, payload: Any) -> None:
        if at < self.horizon:
            self.seq += 1
            heapq.heappush(self.queue, (at, self.seq, kind, payload))

    def emit(self, *events: YearEvent) -> None:
        for event in events:
            if event.at < self.horizon:
                self.seq += 1
                heapq.heappush(self.out, (event.at, self.seq, event))

    def run(self) -> Iterator[YearEvent]:
        self._arrivals()
        while self.queue:
            at, _, kind, payload = heapq.heappop(self.queue)
            while self.out and self.out[0][0] < at:
                yield heapq.heappop(self.out)[2]
            getattr(self, f"_on_{kind}")(at, *payload)
        while self.out:
            yield heapq.heappop(self.out)[2]

    def _arrivals(self) -> None:
        p, days = self.params, (local_date(self.end) - local_date(self.start)).days
        scale = days / 365
        rng, first = self.rng, local_date(self.start)
        for _ in range(round(p["contacts_per_year"] * p.share("first_contact_share") * scale)):
            self.later(contact_time(rng, first, days, p.share("weekday_office_hours_share")), "arrival", ())
        for _ in range(round(p["data_only_families_per_year"] * scale)):
            day = next_working_day(first + timedelta(days=rng.randrange(days)))
            if day < local_date(self.end):
                self.later(at_local(day, time(rng.randrange(9, 11), rng.randrange(60))), "data_family", ())

    # --- the front door ----------------------------------------------------------------------------------------------

    def _on_arrival(self, at: datetime) -> None:
        family = FamilyState(self.people.household(self.door.children(), local_date(self.start)))
        self._on_contact(at, family, Reason.FIRST)

    def _on_contact(self, at: datetime, family: FamilyState, reason: Reason) -> None:
        if reason in (Reason.AGAIN, Reason.AGAIN_REFERRED) and family.blocked(at):
            return
        door, rng = self.door, self.rng
        referrer = door.referrer()
        incident = door.da_incident(referrer)
        reference, incident_at = None, None
        if incident:
            self.incidents += 1
            reference = police_reference(self.incidents, at)
            low, high = self.params.span("police_notification_lag_hours")
            incident_at = at - timedelta(minutes=rng.randrange(int(low * 60), int(high * 60)))
        publish, contact_id, involved = contact_event(
            rng, family.household, referrer, door.concern_list(referrer, incident), at, incident_at,
            self.params.share("da_children_present_share"), reference)
        schooled = [c for c in involved if c.school_urn]
        deadline = school_deadline(self.terms, at) if schooled else None
        fact = ContactFact(contact_id, family.key, family.household.child_keys, at, referrer.value, incident,
                           len(schooled), deadline is not None and (local_date(deadline) - local_date(at)).days <= 1)
        self.emit(type(publish)(publish.at, publish.topic, publish.key, publish.value, fact))
        for child in schooled:
            late = rng.random() >= self.params.share("ack_on_time_share")
            assert child.school_urn is not None and reference is not None
            self.emit(Acknowledge(acknowledgement_time(rng, at, deadline, not late), child.school_urn, reference,
                                  child.ref, AckFact(late)))
        family.last_contact_id = contact_id
        family.picture.saw(at)
        if incident:
            family.picture.da_days.append(local_date(at))
        decision = door.decision(reason, incident)
        decided_at = decision_time(rng, at, self.params.share("decision_same_day_share"))
        self.later(decided_at, "decision", (family, contact_id, decision, door.level(decision)))
        self._check(at, family)

    def _on_decision(self, at: datetime, family: FamilyState, contact_id: Any, decision: Decision,
                     level: LevelOfNeed) -> None:
        publish = decision_event(self.rng, contact_id, decision, level, at)
        fact = DecisionFact(contact_id, family.key, family.household.child_keys, decision, at)
        self.emit(type(publish)(publish.at, publish.topic, publish.key, publish.value, fact))
        picture = family.picture
        picture.saw(at)
        if decision in NEEDS_HELP:
            picture.needs_help_days.append(local_date(at))
        opens = decision is Decision.EARLY_HELP or (decision is Decision.NO_FURTHER_ACTION
                                                    and level >= LevelOfNeed.UNIVERSAL_PLUS)
        if opens and family.open_case is None:
            picture.identify(at)  # the outcomes service may see the decision first: its trigger joins this case
            source = CaseSource.EARLY_HELP_DECISION if decision is Decision.EARLY_HELP else CaseSource.NFA_REVIEW
            family.cases += 1
            ref = CaseRef(f"{family.key}/case-{family.cases}", source,
                          case_id=decision_case_id(self.params.contacts_source, contact_id), contact_id=contact_id)
            self._open(family, ref, at)
            return
        if decision in REFERRAL_DECISIONS:
            family.last_referral_at = at
            if self.again_referred.draw() == "yes":
                self.later(self._return_at(at), "contact", (family, Reason.AGAIN_REFERRED))
        elif not opens and self.again.draw() == "yes":
            self.later(self._return_at(at), "contact", (family, Reason.AGAIN))
        self._check(at, family)

    def _return_at(self, at: datetime) -> datetime:
        low, high = self.params.span("return_delay_days")
        days = self.rng.triangular(low, high, low)
        return contact_time(self.rng, local_date(at) + timedelta(days=int(days)), 7,
                            self.params.share("weekday_office_hours_share"))

    # --- cases ------------------------------------------------------------------------------------------------------

    def _open(self, family: FamilyState, ref: CaseRef, at: datetime, step_up: bool = False) -> None:
        planned = self.planner.plan(Opened(ref, family.key, family.household.child_keys, at, step_up))
        self.emit(*planned.events)
        family.open_case = ref
        family.picture.open_cases.add(ref.key)
        family.picture.saw(at)
        if planned.ended_at is not None:
            self.later(planned.ended_at, "case_end", (family, ref, planned.closed_at))

    def _on_case_end(self, at: datetime, family: FamilyState, ref: CaseRef, closed_at: datetime | None) -> None:
        family.open_case = None
        family.picture.open_cases.discard(ref.key)
        family.picture.ended_on.append(local_date(at))
        family.picture.saw(at)
        if closed_at is not None:
            drawn = family.returning is not None and family.returning >= closed_at
            # An earlier closure's 12 months still running drew no return: this closure's comes after them.
            earliest = max(closed_at + timedelta(days=14), family.quiet_until or closed_at)
            family.quiet_until = year_end(closed_at)
            room = (closed_at + timedelta(days=330) - earliest).days
            way = "none" if drawn else self.returns.draw()  # a return already planned covers this closure too
            if way != "none" and room > 0:
                back = earliest + timedelta(days=self.rng.randrange(room))
                reason = Reason.BACK_TO_EARLY_HELP if way == "early_help" else Reason.BACK_TO_SOCIAL_CARE
                family.returning = at_local(next_working_day(local_date(back)), time(self.rng.randrange(8, 18)))
                self.later(family.returning, "contact", (family, reason))
        self._check(at, family)

    def _check(self, at: datetime, family: FamilyState) -> None:
        """The outcomes service's identification, as of `at`: a case opens, or a check is due later."""
        when = family.picture.due()
        if when is None:
            return
        if when > at:
            if family.check_at != when:
                family.check_at = when
                self.later(when, "check", (family,))
            return
        found = family.picture.identify(at)
        if found is None or family.open_case is not None:
            return
        started_at, _ = found
        family.cases += 1
        ref = CaseRef(f"{family.key}/case-{family.cases}", CaseSource.IDENTIFIED_IN_DATA,
                      contact_id=family.last_contact_id, partner_records=family.partner_records)
        recent = self.params["step_up_after_referral_days"]
        step_up = family.last_referral_at is not None and started_at - family.last_referral_at <= timedelta(recent)
        self._open(family, ref, started_at, step_up)

    def _on_check(self, at: datetime, family: FamilyState) -> None:
        if family.check_at == at:
            family.check_at = None
            self._check(at, family)

    # --- families known only from data --------------------------------------------------------------------------

    def _on_data_family(self, at: datetime) -> None:
        rng = self.rng
        working = rng.random() < self.params.share("into_work_share")
        crime = not working and rng.random() < self.params.share("data_only_crime_share")
        household = self.people.household(self.door.children(), local_date(self.start))
        made, records = data_family(rng, household, at, crime)
        family = FamilyState(household, partner_records=made.records)
        picture = family.picture
        picture.workless.append((made.benefit_from, None))
        picture.health_days.append(made.health_on)
        if made.asb_on is not None:
            picture.asb_days.append(made.asb_on)
        self.emit(*records)
        picture.saw(at)
        self._check(at, family)
        if working and family.open_case is not None:
            low, high = self.params.span("into_work_days")
            starts_on = local_date(at) + timedelta(days=rng.randint(int(low), int(high)))
            picture.workless[0] = (made.benefit_from, starts_on - timedelta(days=1))
            self.emit(*into_work(rng, made, starts_on, at_local(starts_on + timedelta(days=3), time(10))))
            achieved = start_of(starts_on - timedelta(days=1) + timedelta(days=SUSTAIN_DAYS))
            case = family.open_case
            self.emit(Expect(achieved, "outcome-achieved", case, AchievedFact(family.key, case.key, achieved)))


def generate(params: Parameters, seed: int, start: datetime | None = None, months: int = 12,
             follow_up_months: int | None = None) -> Iterator[YearEvent]:
    """The year's events in business time order: `months` of arrivals from
    `start` (the parameters' start by default), then `follow_up_months` (the
    parameters' 12 by default) in which what is under way carries on."""
    follow = params["follow_up_months"] if follow_up_months is None else follow_up_months
    return Year(params, seed, start or params.start, months, int(follow)).run()
