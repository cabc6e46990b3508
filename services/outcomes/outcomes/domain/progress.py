"""Significant and sustained progress against an outcome plan.

Each headline problem in the plan is a target, met from a day the facts
decide (never the day someone looked), so the live stream and a rebuild
agree:
- school attendance: each child with attendance data, in the last terms
  (3 by default) up to each term since the plan began, has fewer than 3
  fixed-term exclusions, under 15% unauthorised absence and no permanent
  exclusion; met from the start of the term that made it so;
- crime and anti-social behaviour: over each completed period (182 days)
  from the plan's start, youth offending down 33% and the family's
  anti-social behaviour down 60% against the period before the plan (no
  proven offence at all when the baseline had none of either); met from
  the end of the first good period;
- domestic abuse: no incident in a completed period; children who need
  help: no social care referral in a completed period;
- worklessness: an adult into work (any start since the plan) or off
  out-of-work benefits, and nobody workless now; an adult into continuous
  employment (26 weeks by default) is also a results claim on its own;
- health: the data hold no measure of progress, so it is no target.
A relapse (a bad term or period, a return to benefits) resets the target;
the plan is achieved when every target has held for the sustain period."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from frontdoor_contracts.vocabulary import EmploymentStatus, HeadlineProblem, OffenceKind

from .family import Family, Plan
from .problems import attendance_ok, headline_problems, offences_between, terms_of, workless
from .thresholds import Thresholds

MEASURED = (HeadlineProblem.SCHOOL_ATTENDANCE, HeadlineProblem.CRIME_ASB, HeadlineProblem.DOMESTIC_ABUSE,
            HeadlineProblem.CHILDREN_IN_NEED, HeadlineProblem.WORKLESSNESS)


@dataclass(frozen=True)
class Baseline:
    youth_offences: int
    asb: int


@dataclass(frozen=True)
class Progress:
    problems: list[HeadlineProblem]
    baseline: Baseline
    met_from: dict[HeadlineProblem, date | None]
    since: date | None  # every target met since this day
    achieved_on: date | None  # since + the sustain period, once reached
    employment_claim_on: date | None  # an adult's continuous employment reached the threshold


def attendance_met_from(family: Family, plan: Plan, on: date, th: Thresholds) -> date | None:
    met: list[date] = []
    for child in sorted(family.children):
        terms = terms_of(family, child, on)
        if not terms:
            continue
        since: date | None = None
        for k, term in enumerate(terms):
            if term.measure.term_starts_on < plan.starts_on:
                continue
            window = terms[max(0, k - th.attendance_terms + 1):k + 1]
            since = (since or term.measure.term_starts_on) if attendance_ok(window, th) else None
        if since is None:
            return None  # a child with attendance data has not (or not yet) improved
        met.append(since)
    return max(met) if met else None


def periods_met_from(plan: Plan, on: date, th: Thresholds, good: Callable[[date, date], bool]) -> date | None:
    """The end of the first of the completed periods since the plan began
    from which every period was good (None if the last one was not)."""
    length = timedelta(days=th.period_days)
    since: date | None = None
    start = plan.starts_on
    while start + length <= on:
        end = start + length
        since = (since or end) if good(start, end) else None
        start = end
    return since


def _reduced(count: int, baseline: int, reduction: float) -> bool:
    return count <= baseline * (1 - reduction) + 1e-9


def plan_problems(family: Family, plan: Plan, th: Thresholds) -> list[HeadlineProblem]:
    """What the case named, and what the facts showed up to the day before it started."""
    return sorted(set(plan.declared) | headline_problems(family, plan.starts_on - timedelta(days=1), th))


def baseline(family: Family, plan: Plan, th: Thresholds) -> Baseline:
    before = plan.starts_on - timedelta(days=th.period_days)
    return Baseline(
        offences_between(family, before, plan.starts_on, kind=OffenceKind.PROVEN_OFFENCE, youth=True),
        offences_between(family, before, plan.starts_on, kind=OffenceKind.ANTI_SOCIAL_BEHAVIOUR))


def offending_good(family: Family, base: Baseline, th: Thresholds) -> Callable[[date, date], bool]:
    def good(start: date, end: date) -> bool:
        youth = offences_between(family, start, end, kind=OffenceKind.PROVEN_OFFENCE, youth=True)
        asb = offences_between(family, start, end, kind=OffenceKind.ANTI_SOCIAL_BEHAVIOUR)
        if base.youth_offences == 0 and base.asb == 0:
            return youth + asb + offences_between(family, start, end, kind=OffenceKind.PROVEN_OFFENCE) == 0
        return (_reduced(youth, base.youth_offences, th.youth_offending_reduction)
                and _reduced(asb, base.asb, th.asb_reduction))

    return good


def continuous_employment_on(family: Family, plan: Plan, on: date, th: Thresholds) -> date | None:
    needed = timedelta(weeks=th.continuous_employment_weeks)
    reached = [e.measure.starts_on + needed for e in family.employment.values()
               if e.person_id in family.adults and e.measure.status is EmploymentStatus.EMPLOYED
               and e.measure.starts_on >= plan.starts_on and e.measure.starts_on + needed <= on
               and (e.measure.ends_on is None or e.measure.ends_on >= e.measure.starts_on + needed)]
    return min(reached, default=None)


def work_met_from(family: Family, plan: Plan, on: date) -> date | None:
    if workless(family, on):
        return None
    facts = [e.measure for e in family.employment.values() if e.person_id in family.adults]
    out_of_work = [m for m in facts if m.out_of_work_benefit or m.status is EmploymentStatus.UNEMPLOYED]
    relapses = [m.starts_on for m in out_of_work if plan.starts_on < m.starts_on <= on]
    progress = [m.starts_on for m in facts if m.status is EmploymentStatus.EMPLOYED and not m.out_of_work_benefit
                and plan.starts_on <= m.starts_on <= on]
    progress += [m.ends_on for m in out_of_work if m.ends_on is not None and plan.starts_on <= m.ends_on <= on]
    after = [day for day in progress if not relapses or day > max(relapses)]
    return min(after, default=None)


def evaluate(family: Family, plan: Plan, on: date, th: Thresholds) -> Progress:
    problems = plan_problems(family, plan, th)
    base = baseline(family, plan, th)
    met: dict[HeadlineProblem, date | None] = {}
    for problem in problems:
        if problem is HeadlineProblem.SCHOOL_ATTENDANCE:
            met[problem] = attendance_met_from(family, plan, on, th)
        elif problem is HeadlineProblem.CRIME_ASB:
            met[problem] = periods_met_from(plan, on, th, offending_good(family, base, th))
        elif problem is HeadlineProblem.DOMESTIC_ABUSE:
            met[problem] = periods_met_from(plan, on, th, lambda s, e: not any(
                s <= day < e for day in family.da_incidents.values()))
        elif problem is HeadlineProblem.CHILDREN_IN_NEED:
            met[problem] = periods_met_from(plan, on, th, lambda s, e: not any(
                s <= day < e for day in family.social_care_referrals.values()))
        elif problem is HeadlineProblem.WORKLESSNESS:
            met[problem] = work_met_from(family, plan, on)
    values = list(met.values())
    since = max(values) if values and all(v is not None for v in values) else None  # type: ignore[type-var]
    sustained = since + timedelta(days=th.sustain_days) if since is not None else None
    return Progress(problems, base, met, since, sustained if sustained is not None and sustained <= on else None,
                    continuous_employment_on(family, plan, on, th))
