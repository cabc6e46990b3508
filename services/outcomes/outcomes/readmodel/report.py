"""The KPI report over the read model's facts: `kpi_report(session, start,
end, now)`. Reads only; the same facts give an equal report.

Period: facts whose business time is in [start, end). `now` is when the
report is made: whether a closed case came back within 12 months is known
only once those 12 months are over at `now` (otherwise "not yet known", out
of the denominators), and a plan counts as sustained when that was achieved
before `now`. Families are counted as they stand now (a merge joins them)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import NotificationKind
from frontdoor_contracts.vocabulary import (
    REFERRAL_DECISIONS,
    AgencyKind,
    CaseSource,
    ClosureOutcome,
    Decision,
    HeadlineProblem,
    ReferrerSource,
)

from .report_models import (
    ClosedCasesKpi,
    ClosuresKpi,
    ContactsKpi,
    DaNotificationsKpi,
    DecisionsKpi,
    FamiliesKpi,
    Figure,
    KpiReport,
    LeadAgency,
    LeadKindKpi,
    LeadProfessionalsKpi,
    OffersKpi,
    ReReferralKpi,
)
from .rules import came_back, follow_up_end, follow_up_over, median_of_counts, split_categories
from .tables import (
    KpiAllocation,
    KpiCaseOpened,
    KpiClaimEligible,
    KpiClosure,
    KpiClosureChild,
    KpiContact,
    KpiDecision,
    KpiDelivery,
    KpiFamilyAlias,
    KpiFamilyIdentified,
    KpiOffer,
    KpiOutcomeAchieved,
    KpiReferralChild,
    KpiReReferralCorrection,
)

REFERRALS = sorted(d.value for d in REFERRAL_DECISIONS)


def check_period(start: datetime, end: datetime) -> None:
    """Refuse a naive or reversed period."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the period's start and end must be aware datetimes")
    if end < start:
        raise ValueError("the period ends before it starts")


def within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(col(column) >= start, col(column) < end)


def _family(family_column: Any) -> tuple[Any, ColumnElement[uuid.UUID]]:
    """An alias of the alias table to outer-join, and the family as it stands now."""
    alias = aliased(KpiFamilyAlias)
    return alias, func.coalesce(alias.family_id, family_column)


def _from(query: Any, table: Any, alias: Any) -> Any:
    """`query` from `table`, with the family each row's family is part of now."""
    return query.select_from(table).outerjoin(alias, alias.merged_family_id == table.family_id)


def _with_all(keys: Iterable[str], counts: dict[str, int]) -> list[str]:
    """Every known category (so each shows, 0 until it happens) and any newer one seen, sorted."""
    return sorted(set(keys) | set(counts))


def _shares(keys: Iterable[str], counts: dict[str, int], denominator: int) -> dict[str, Figure]:
    return {key: Figure.of(counts.get(key, 0), denominator) for key in _with_all(keys, counts)}


def _counts(session: Session, key: Any, counted: Any, *where: ColumnElement[bool]) -> dict[str, int]:
    query = select(key, func.count(counted)).where(*where).group_by(key)
    return {str(k): int(n) for k, n in session.exec(query).all()}


def contacts_kpi(session: Session, start: datetime, end: datetime) -> ContactsKpi:
    by_source = _counts(session, KpiContact.referrer_source, distinct(col(KpiContact.contact_id)),
                        within(KpiContact.received_at, start, end))
    total = sum(by_source.values())
    return ContactsKpi(total=total, by_source=_shares((s.value for s in ReferrerSource), by_source, total))


def decisions_kpi(session: Session, start: datetime, end: datetime) -> DecisionsKpi:
    by_decision = _counts(session, KpiDecision.decision, distinct(col(KpiDecision.contact_id)),
                          within(KpiDecision.decided_at, start, end))
    total = sum(by_decision.values())
    statutory = sum(by_decision.get(d, 0) for d in REFERRALS)
    return DecisionsKpi(total=total, statutory_threshold=Figure.of(statutory, total),
                        early_help=Figure.of(by_decision.get(Decision.EARLY_HELP.value, 0), total),
                        by_decision={d: by_decision.get(d, 0) for d in _with_all((d.value for d in Decision),
                                                                                 by_decision)})


def re_referrals_kpi(session: Session, start: datetime, end: datetime) -> ReReferralKpi:
    """Per child referral in the period; a correction's flag (the latest, by
    corrected_at) replaces the decision's."""
    period = within(KpiReferralChild.decided_at, start, end)
    flagged = _counts(session, KpiReferralChild.re_referral, KpiReferralChild.child_id, period,
                      col(KpiReferralChild.referral).is_(True))
    referrals = sum(flagged.values())
    re_referrals = flagged.get("True", 0)
    latest: dict[tuple[uuid.UUID, uuid.UUID], bool] = {}
    corrections = (select(KpiReReferralCorrection)
                   .where(within(KpiReReferralCorrection.decided_at, start, end))
                   .order_by(col(KpiReReferralCorrection.corrected_at), col(KpiReReferralCorrection.event_id)))
    for correction in session.exec(corrections).all():
        latest[(correction.contact_id, correction.child_id)] = correction.re_referral
    corrected = 0
    if latest:
        originals = select(KpiReferralChild.contact_id, KpiReferralChild.child_id, KpiReferralChild.re_referral).where(
            period, col(KpiReferralChild.referral),
            col(KpiReferralChild.contact_id).in_(select(KpiReReferralCorrection.contact_id).where(
                within(KpiReReferralCorrection.decided_at, start, end))))
        for contact_id, child_id, flag in session.exec(originals).all():
            now_flag = latest.get((contact_id, child_id))
            if now_flag is not None and now_flag != flag:
                corrected += 1
                re_referrals += 1 if now_flag else -1
    return ReReferralKpi(rate=Figure.of(re_referrals, referrals), corrected=corrected)


def offers_kpi(session: Session, start: datetime, end: datetime) -> OffersKpi:
    period = within(KpiOffer.offered_at, start, end)
    by_days = {int(days): int(n) for days, n in session.exec(
        select(KpiOffer.days_taken, func.count()).where(period).group_by(col(KpiOffer.days_taken))).all()}
    offers = sum(by_days.values())
    within_target = session.exec(select(func.count()).where(period, col(KpiOffer.within_target))).one()
    return OffersKpi(offers=offers, within_target=Figure.of(int(within_target), offers),
                     mean_days=Figure.of(sum(days * n for days, n in by_days.items()), offers),
                     median_days=median_of_counts(by_days), by_days=dict(sorted(by_days.items())))


def da_notifications_kpi(session: Session, start: datetime, end: datetime) -> DaNotificationsKpi:
    found = _counts(session, KpiDelivery.before_deadline, distinct(col(KpiDelivery.notification_id)),
                    within(KpiDelivery.delivered_at, start, end),
                    col(KpiDelivery.kind) == NotificationKind.DA_INCIDENT.value)
    before, after = found.get("True", 0), found.get("False", 0)
    return DaNotificationsKpi(before_school_day=Figure.of(before, before + after),
                              without_deadline=found.get("None", 0))


def closures_kpi(session: Session, start: datetime, end: datetime) -> ClosuresKpi:
    child_period = within(KpiClosureChild.closed_at, start, end)
    children_by = _counts(session, KpiClosureChild.outcome, distinct(col(KpiClosureChild.child_id)), child_period)
    children = int(session.exec(select(func.count(distinct(col(KpiClosureChild.child_id)))).where(child_period)).one())
    child_closures = int(session.exec(select(func.count()).select_from(KpiClosureChild).where(child_period)).one())
    cases_by = _counts(session, KpiClosure.outcome, distinct(col(KpiClosure.case_id)),
                       within(KpiClosure.closed_at, start, end))
    cases = sum(cases_by.values())
    outcomes = [o.value for o in ClosureOutcome]
    return ClosuresKpi(cases=cases, children=children, child_closures=child_closures,
                       by_category=_shares(outcomes, children_by, children),
                       by_category_cases=_shares(outcomes, cases_by, cases))


def families_kpi(session: Session, start: datetime, end: datetime, now: datetime) -> FamiliesKpi:
    alias, family = _family(KpiFamilyIdentified.family_id)
    identified_rows = session.exec(_from(select(family, KpiFamilyIdentified.headline_problems),
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

    alias, family = _family(KpiOutcomeAchieved.family_id)
    sustained = session.exec(_from(select(func.count(distinct(family))), KpiOutcomeAchieved, alias)
                             .where(within(KpiOutcomeAchieved.achieved_at, start, end))).one()
    alias, family = _family(KpiClaimEligible.family_id)
    claims = session.exec(_from(select(KpiClaimEligible.basis, family), KpiClaimEligible, alias)
                          .where(within(KpiClaimEligible.eligible_at, start, end))).all()
    by_basis: dict[str, set[uuid.UUID]] = defaultdict(set)
    for basis, family_id in claims:
        by_basis[basis].add(family_id)
    return FamiliesKpi(
        identified=len({family_id for family_id, _ in identified_rows}),
        identified_by_problem={p: problem_counts.get(p, 0)
                               for p in _with_all((h.value for h in HeadlineProblem), problem_counts)},
        with_plans=len(planned_families), sustained=int(sustained),
        claim_eligible=len({family_id for _, family_id in claims}),
        claim_eligible_by_basis={basis: len(ids) for basis, ids in sorted(by_basis.items())},
        plans_sustained=Figure.of(len(sustained_families), len(planned_families)))


def _plans(session: Session, start: datetime, end: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(family now, case) of each plan made in the period: a case opened with
    headline problems, opened for a family identified in data, or opened
    after the family was identified in data."""
    alias, family = _family(KpiCaseOpened.family_id)
    with_problems = or_(col(KpiCaseOpened.headline_problems) != "",
                        col(KpiCaseOpened.source) == CaseSource.IDENTIFIED_IN_DATA.value)
    opened = session.exec(_from(select(family, KpiCaseOpened.case_id, with_problems, KpiCaseOpened.opened_at),
                                KpiCaseOpened, alias)
                          .where(within(KpiCaseOpened.opened_at, start, end))).all()
    if not opened:
        return []
    first_identified: dict[uuid.UUID, datetime] = {}
    id_alias, id_family = _family(KpiFamilyIdentified.family_id)
    identified = (_from(select(id_family, func.min(KpiFamilyIdentified.identified_at)), KpiFamilyIdentified,
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


def closed_cases_kpi(session: Session, start: datetime, end: datetime, now: datetime) -> ClosedCasesKpi:
    """Per case closed in the period: did its family come back to Early Help
    (an Early Help decision) or to social care (a referral decision) within
    the 12 months after closure? Known only once those 12 months are over."""
    alias, family = _family(KpiClosure.family_id)
    closed = session.exec(_from(select(KpiClosure.case_id, family, KpiClosure.closed_at), KpiClosure, alias)
                          .where(within(KpiClosure.closed_at, start, end))).all()
    cases = {case_id: (family_id, closed_at) for case_id, family_id, closed_at in closed}
    known = {case_id: fc for case_id, fc in cases.items() if follow_up_over(fc[1], now)}
    came_to: dict[str, dict[uuid.UUID, list[datetime]]] = {"early_help": defaultdict(list),
                                                          "social_care": defaultdict(list)}
    if known:
        families = _from(select(family), KpiClosure, alias).where(within(KpiClosure.closed_at, start, end))
        first = min(closed_at for _, closed_at in known.values())
        last = max(closed_at for _, closed_at in known.values())
        d_alias, d_family = _family(KpiDecision.family_id)
        later = (_from(select(d_family, KpiDecision.decision, KpiDecision.decided_at), KpiDecision, d_alias)
                 .where(within(KpiDecision.decided_at, first, follow_up_end(last)),
                        col(KpiDecision.decision).in_([Decision.EARLY_HELP.value, *REFERRALS]),
                        d_family.in_(families)))
        for family_id, decision, decided_at in session.exec(later).all():
            kind = "early_help" if decision == Decision.EARLY_HELP.value else "social_care"
            came_to[kind][family_id].append(decided_at)
        for times in (*came_to["early_help"].values(), *came_to["social_care"].values()):
            times.sort()
    not_back = {kind: sum(not came_back(closed_at, by_family.get(family_id, []))
                          for family_id, closed_at in known.values())
                for kind, by_family in came_to.items()}
    return ClosedCasesKpi(closed=len(cases), not_yet_known=len(cases) - len(known),
                          not_re_referred_to_early_help=Figure.of(not_back["early_help"], len(known)),
                          not_re_referred_to_social_care=Figure.of(not_back["social_care"], len(known)))


def lead_professionals_kpi(session: Session, start: datetime, end: datetime) -> LeadProfessionalsKpi:
    rows = session.exec(select(KpiAllocation.lead_agency_id, KpiAllocation.agency_kind, func.count())
                        .where(within(KpiAllocation.allocated_at, start, end))
                        .group_by(KpiAllocation.lead_agency_id, KpiAllocation.agency_kind)).all()
    agencies = sorted((LeadAgency(lead_agency_id=a, agency_kind=k, allocations=int(n)) for a, k, n in rows),
                      key=lambda agency: (agency.lead_agency_id, agency.agency_kind))
    total = sum(a.allocations for a in agencies)
    by_kind: dict[str, int] = defaultdict(int)
    organisations: dict[str, set[str]] = defaultdict(set)
    for agency in agencies:
        by_kind[agency.agency_kind] += agency.allocations
        organisations[agency.agency_kind].add(agency.lead_agency_id)
    return LeadProfessionalsKpi(
        allocations=total, organisations=len({a.lead_agency_id for a in agencies}),
        by_agency_kind={kind: LeadKindKpi(allocations=Figure.of(by_kind.get(kind, 0), total),
                                          organisations=len(organisations.get(kind, ())))
                        for kind in _with_all((k.value for k in AgencyKind), by_kind)},
        by_agency=agencies)


def kpi_report(session: Session, start: datetime, end: datetime, now: datetime) -> KpiReport:
    """Every KPI over the facts in [start, end), as known at `now`."""
    check_period(start, end)
    return KpiReport(
        period_start=start, period_end=end, generated_at=now,
        contacts=contacts_kpi(session, start, end),
        decisions=decisions_kpi(session, start, end),
        re_referrals=re_referrals_kpi(session, start, end),
        spa_to_offer=offers_kpi(session, start, end),
        da_notifications=da_notifications_kpi(session, start, end),
        closures=closures_kpi(session, start, end),
        families=families_kpi(session, start, end, now),
        closed_cases=closed_cases_kpi(session, start, end, now),
        lead_professionals=lead_professionals_kpi(session, start, end))
