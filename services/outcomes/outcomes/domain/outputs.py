"""Events into a family's picture, and what the picture says: a family
identified in data (two or more headline problems, no open Early Help case,
not identified again until a case has closed and the quiet period passed),
an outcome plan made when a case opens, and an outcome achieved and a
results claim, each once per plan. The days and times come from the events
(and the thresholds), so replaying the same events gives the same answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdoor_contracts.allocation import CaseClosed, CaseOpened, OfferAnswered, SteppedUp
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded
from frontdoor_contracts.partners import (
    AttendanceMeasure,
    EmploymentMeasure,
    HealthMeasure,
    OffendingMeasure,
    PartnerFactMatched,
)
from frontdoor_contracts.vocabulary import (
    REFERRAL_DECISIONS,
    Decision,
    HeadlineProblem,
    OfferAnswer,
)

from .family import Attendance, Case, Employment, Family, Health, Offence, Plan
from .problems import headline_problems
from .progress import evaluate
from .thresholds import Thresholds

LONDON = ZoneInfo("Europe/London")
NEEDS_HELP = REFERRAL_DECISIONS | {Decision.EARLY_HELP, Decision.ADVICE_EARLY_HELP_ASSESSMENT}
OUTPUT_NAMESPACE = uuid.UUID("6a1f4e2b-9c3d-4b5a-8e7f-0d1c2b3a4f5e")


def day_of(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True)
class Identified:
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    problems: list[HeadlineProblem]
    at: datetime


@dataclass(frozen=True)
class Achieved:
    family_id: uuid.UUID
    case_id: uuid.UUID
    plan: list[HeadlineProblem]
    since: date
    at: datetime


@dataclass(frozen=True)
class ClaimMade:
    family_id: uuid.UUID
    case_id: uuid.UUID
    basis: str
    at: datetime


Output = Identified | Achieved | ClaimMade


def output_id(output: Output) -> str:
    """The same output from the same facts has the same id (consumers dedupe on it)."""
    if isinstance(output, Identified):
        subject = f"identified\n{output.family_id}\n{output.at.isoformat()}"
    elif isinstance(output, Achieved):
        subject = f"achieved\n{output.family_id}\n{output.case_id}"
    else:
        subject = f"claim\n{output.family_id}\n{output.case_id}"
    return str(uuid.uuid5(OUTPUT_NAMESPACE, subject))


# --- facts in -------------------------------------------------------------------------------------------------------

def on_recorded(family: Family, data: ContactRecorded) -> None:
    family.children |= {child.child_id for child in data.children}
    if data.da_incident:
        family.da_incidents[str(data.contact_id)] = day_of(data.received_at)


def on_decided(family: Family, data: ContactDecided) -> None:
    family.children |= {child.child_id for child in data.children}
    if data.decision in NEEDS_HELP:
        family.needs_help[str(data.contact_id)] = day_of(data.decided_at)
    if data.decision in REFERRAL_DECISIONS:
        family.social_care_referrals[str(data.contact_id)] = day_of(data.decided_at)


def on_fact(family: Family, data: PartnerFactMatched) -> None:
    (family.children if data.is_child else family.adults).add(data.person_id)
    measure = data.measure
    if isinstance(measure, AttendanceMeasure):
        family.attendance[data.fact_id] = Attendance(person_id=data.person_id, measure=measure)
    elif isinstance(measure, OffendingMeasure):
        family.offences[data.fact_id] = Offence(person_id=data.person_id, measure=measure)
    elif isinstance(measure, EmploymentMeasure):
        family.employment[data.fact_id] = Employment(person_id=data.person_id, measure=measure)
    elif isinstance(measure, HealthMeasure):
        family.health[data.fact_id] = Health(person_id=data.person_id, measure=measure)


def on_case_opened(family: Family, data: CaseOpened) -> None:
    """The case and its plan. Its end may have been read first (another topic): it is kept."""
    opened = day_of(data.opened_at)
    family.children |= set(data.child_ids)
    known = family.cases.get(data.case_id)
    family.cases[data.case_id] = (known.model_copy(update={"opened_on": opened}) if known is not None
                                  else Case(case_id=data.case_id, opened_on=opened))
    if not any(plan.case_id == data.case_id for plan in family.plans):
        family.plans.append(Plan(case_id=data.case_id, starts_on=opened,
                                 declared=sorted(set(data.headline_problems))))
        family.plans.sort(key=lambda plan: plan.starts_on)


def _ended(family: Family, case_id: uuid.UUID, started_at: datetime, on: date, **changes: object) -> None:
    """The case is over (closed, stepped up, declined). Read before its opening (another topic), it is known
    from its start until the opening arrives."""
    case = family.cases.get(case_id) or Case(case_id=case_id, opened_on=day_of(started_at))
    if case.closed_on is None:
        family.cases[case_id] = case.model_copy(update={"closed_on": on, **changes})


def on_case_closed(family: Family, data: CaseClosed) -> None:
    _ended(family, data.case_id, data.started_at, day_of(data.closed_at), outcome=data.outcome)


def on_stepped_up(family: Family, data: SteppedUp) -> None:
    _ended(family, data.case_id, data.started_at, day_of(data.stepped_up_at), stepped_up=True)


def on_answered(family: Family, data: OfferAnswered) -> None:
    if data.answer is OfferAnswer.DECLINED:  # no Early Help work: the case is over
        _ended(family, data.case_id, data.started_at, day_of(data.answered_at))


# --- what it says ---------------------------------------------------------------------------------------------------

def identification(family: Family, at: datetime, th: Thresholds) -> Identified | None:
    """Identify the family (once per episode) when it qualifies by `at`."""
    if family.open_case is not None or not family.children or family.last_event_at is None:
        return None
    closed = family.last_closed_on
    if family.identified_on and (closed is None or closed < family.identified_on[-1]):
        return None  # identified already, and no case has closed since
    when = family.last_event_at
    if closed is not None:
        when = max(when, start_of(closed + timedelta(days=th.quiet_days_after_closure)))
    if when > at:
        return None
    problems = headline_problems(family, day_of(when), th)
    if len(problems) < th.identify_at_problems:
        return None
    family.identified_on.append(day_of(when))
    return Identified(family.family_id, sorted(family.children), sorted(problems), when)


def plan_outputs(family: Family, on: date, th: Thresholds) -> list[Output]:
    """The latest plan's outcome and claim, each once."""
    plan = family.plan
    if plan is None:
        return []
    progress = evaluate(family, plan, on, th)
    found: list[Output] = []
    if plan.achieved_on is None and progress.achieved_on is not None and progress.since is not None:
        plan.achieved_on = progress.achieved_on
        found.append(Achieved(family.family_id, plan.case_id, progress.problems, progress.since,
                              start_of(progress.achieved_on)))
    if plan.claim_basis is None:
        options = [(d, basis) for d, basis in ((progress.achieved_on, "sustained_progress"),
                                               (progress.employment_claim_on, "continuous_employment"))
                   if d is not None]
        if options:
            day, plan.claim_basis = min(options)
            found.append(ClaimMade(family.family_id, plan.case_id, plan.claim_basis, start_of(day)))
    return found


def review(family: Family, at: datetime, th: Thresholds) -> list[Output]:
    """Everything the family's picture says as of `at` that was not said before."""
    found: list[Output] = []
    identified = identification(family, at, th)
    if identified is not None:
        found.append(identified)
    found.extend(plan_outputs(family, day_of(at), th))
    return found
