"""The families' KPIs: families identified in data (by headline problem),
families with a plan made in the period and those whose plan achieved
sustained outcomes before `now`, and the results claims they qualify for.
Distinct families, as they stand now (a merge joins them)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import distinct, func, or_
from sqlmodel import Session, col, select

from frontdoor_contracts.vocabulary import CaseSource, HeadlineProblem

from .queries import every_category, family_now, with_family_now, within
from .report_models import FamiliesKpi, Figure
from .tables import KpiCaseOpened, KpiClaimEligible, KpiFamilyIdentified, KpiOutcomeAchieved, split_categories


def families_kpi(session: Session, start: datetime, end: datetime, now: datetime) -> FamiliesKpi:
    alias, family = family_now(KpiFamilyIdentified.family_id)
    identified_rows = session.exec(with_family_now(select(family, KpiFamilyIdentified.headline_problems),
                                         KpiFamilyIdentified, alias)
                                   .where(within(KpiFamilyIdentified.identified_at, start, end))).all()
    by_problem: dict[str, set[uuid.UUID]] = defaultdict(set)
    for family_id, problems in identified_rows:
        for problem in split_categories(problems):
            by_problem[problem].add(family_id)
    problem_counts = {problem: len(ids) for problem, ids in by_problem.items()}

    plans = _plans(session, start, end)
    planned_families = {family_id for family_id, _ in plans}
    plan_cases = {case_id for _, case_id in plans}
    sustained_plans: set[uuid.UUID] = set()
    if plan_cases:
        achieved = (select(KpiOutcomeAchieved.case_id)
                    .where(col(KpiOutcomeAchieved.achieved_at) < now,
                           col(KpiOutcomeAchieved.case_id).in_(select(KpiCaseOpened.case_id).where(
                               within(KpiCaseOpened.opened_at, start, end)))))
        sustained_plans = set(session.exec(achieved).all()) & plan_cases
    sustained_families = {family_id for family_id, case_id in plans if case_id in sustained_plans}

    alias, family = family_now(KpiOutcomeAchieved.family_id)
    sustained = session.exec(with_family_now(select(func.count(distinct(family))), KpiOutcomeAchieved, alias)
                             .where(within(KpiOutcomeAchieved.achieved_at, start, end))).one()
    alias, family = family_now(KpiClaimEligible.family_id)
    claims = session.exec(with_family_now(select(KpiClaimEligible.basis, family), KpiClaimEligible, alias)
                          .where(within(KpiClaimEligible.eligible_at, start, end))).all()
    by_basis: dict[str, set[uuid.UUID]] = defaultdict(set)
    for basis, family_id in claims:
        by_basis[basis].add(family_id)
    return FamiliesKpi(
        identified=len({family_id for family_id, _ in identified_rows}),
        identified_by_problem={p: problem_counts.get(p, 0)
                               for p in every_category((h.value for h in HeadlineProblem), problem_counts)},
        with_plans=len(planned_families), sustained=int(sustained),
        claim_eligible=len({family_id for _, family_id in claims}),
        claim_eligible_by_basis={basis: len(ids) for basis, ids in sorted(by_basis.items())},
        plans_sustained=Figure.of(len(sustained_families), len(planned_families)))


def _plans(session: Session, start: datetime, end: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(family now, case) of each plan made in the period: a case opened with
    headline problems, opened for a family identified in data, or opened
    after the family was identified in data."""
    alias, family = family_now(KpiCaseOpened.family_id)
    with_problems = or_(col(KpiCaseOpened.headline_problems) != "",
                        col(KpiCaseOpened.source) == CaseSource.IDENTIFIED_IN_DATA.value)
    opened = session.exec(with_family_now(select(family, KpiCaseOpened.case_id, with_problems, KpiCaseOpened.opened_at),
                                KpiCaseOpened, alias)
                          .where(within(KpiCaseOpened.opened_at, start, end))).all()
    if not opened:
        return []
    first_identified: dict[uuid.UUID, datetime] = {}
    id_alias, id_family = family_now(KpiFamilyIdentified.family_id)
    identified = (with_family_now(select(id_family, func.min(KpiFamilyIdentified.identified_at)), KpiFamilyIdentified,
                        id_alias)
                  .where(col(KpiFamilyIdentified.identified_at) < end)
                  .group_by(id_family))
    for family_id, at in session.exec(identified).all():
        first_identified[family_id] = at
    plans = []
    for family_id, case_id, has_problems, opened_at in opened:
        identified_at = first_identified.get(family_id)
        if has_problems or (identified_at is not None and identified_at <= opened_at):
            plans.append((family_id, case_id))
    return plans
