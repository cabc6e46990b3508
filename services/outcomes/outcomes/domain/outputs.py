"""What a family's picture says (the stream publishes it): a family
identified in data (two or more headline problems, no open Early Help case,
not identified again until a case has closed and the quiet period passed),
and, against the outcome plan made when a case opened, an outcome achieved
and a results claim, each once per plan. The days and times come from the
events (and the thresholds), so replaying the same events gives the same
answers; the same output has the same id (`output_id`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from frontdoor_contracts.vocabulary import HeadlineProblem

from .days import day_of, start_of
from .family import Family
from .problems import headline_problems
from .progress import evaluate
from .thresholds import Thresholds

OUTPUT_NAMESPACE = uuid.UUID("6a1f4e2b-9c3d-4b5a-8e7f-0d1c2b3a4f5e")


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
    if plan is None or (plan.achieved_on is not None and plan.claim_basis is not None):
        return []  # nothing left to say of this plan: not evaluated again (it was a tenth of a rebuild)
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
