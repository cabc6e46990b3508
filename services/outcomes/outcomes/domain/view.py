"""What the family view shows (pure): the family's headline problems over
time, its plans and progress against each target, and its events (ids and
categories only, never content or names)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from frontdoor_contracts.vocabulary import HeadlineProblem

from .family import Family, Happened
from .problems import headline_problems
from .progress import MEASURED, evaluate
from .thresholds import Thresholds


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemSpan(View):
    problem: HeadlineProblem
    first_seen: date
    last_seen: date
    current: bool


class Target(View):
    problem: HeadlineProblem
    measured: bool
    met_from: date | None


class PlanView(View):
    case_id: uuid.UUID
    starts_on: date
    problems: list[HeadlineProblem]
    targets: list[Target]
    progress_since: date | None
    sustained_on: date | None
    achieved_on: date | None
    claim_basis: str | None


class CaseView(View):
    case_id: uuid.UUID
    opened_on: date
    closed_on: date | None
    outcome: str | None
    stepped_up: bool


class FamilyView(View):
    family_id: uuid.UUID
    as_of: date
    children: int
    adults: int
    problems: list[ProblemSpan]
    identified_on: list[date]
    cases: list[CaseView]
    plans: list[PlanView]
    events: list[Happened]


def _evidence_days(family: Family) -> list[date]:
    days = {h.on for h in family.history}
    return sorted(days)


def problem_spans(family: Family, on: date, th: Thresholds) -> list[ProblemSpan]:
    """Each problem's first and last day present, judged on the days the family's events happened."""
    spans: dict[HeadlineProblem, list[date]] = {}
    for day in [*_evidence_days(family), on]:
        for problem in headline_problems(family, day, th):
            spans.setdefault(problem, []).append(day)
    current = headline_problems(family, on, th)
    return [ProblemSpan(problem=p, first_seen=min(days), last_seen=max(days), current=p in current)
            for p, days in sorted(spans.items())]


def family_view(family: Family, on: date, th: Thresholds) -> FamilyView:
    plans = []
    for plan in family.plans:
        progress = evaluate(family, plan, on, th)
        sustained = progress.since + timedelta(days=th.sustain_days) if progress.since else None
        plans.append(PlanView(
            case_id=plan.case_id, starts_on=plan.starts_on, problems=progress.problems,
            targets=[Target(problem=p, measured=p in MEASURED, met_from=progress.met_from.get(p))
                     for p in progress.problems],
            progress_since=progress.since, sustained_on=sustained, achieved_on=plan.achieved_on,
            claim_basis=plan.claim_basis))
    return FamilyView(
        family_id=family.family_id, as_of=on, children=len(family.children), adults=len(family.adults),
        problems=problem_spans(family, on, th), identified_on=family.identified_on,
        cases=[CaseView(case_id=c.case_id, opened_on=c.opened_on, closed_on=c.closed_on,
                        outcome=c.outcome.value if c.outcome else None, stepped_up=c.stepped_up)
               for c in sorted(family.cases.values(), key=lambda c: c.opened_on)],
        plans=plans, events=family.history)
