"""The Early Help cases' KPIs: offers made (days from the SPA decision, within
the target), the lead professional allocations, closure outcomes per child,
and the cases closed whose family did not come back within the 12 months
after closure (known only once those 12 months are over at `now`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import distinct, func
from sqlmodel import Session, col, select

from frontdoor_contracts.vocabulary import AgencyKind, ClosureOutcome, Decision

from .calculations import came_back, follow_up_end, follow_up_over, median_of_counts
from .front_door_kpis import REFERRALS
from .queries import count_by, every_category, family_now, shares, with_family_now, within
from .report_models import ClosedCasesKpi, ClosuresKpi, Figure, LeadAgency, LeadKindKpi, LeadProfessionalsKpi, OffersKpi
from .tables import KpiAllocation, KpiClosure, KpiClosureChild, KpiDecision, KpiOffer


def offers_kpi(session: Session, start: datetime, end: datetime) -> OffersKpi:
    period = within(KpiOffer.offered_at, start, end)
    by_days = {int(days): int(n) for days, n in session.exec(
        select(KpiOffer.days_taken, func.count()).where(period).group_by(col(KpiOffer.days_taken))).all()}
    offers = sum(by_days.values())
    within_target = session.exec(select(func.count()).where(period, col(KpiOffer.within_target))).one()
    return OffersKpi(offers=offers, within_target=Figure.of(int(within_target), offers),
                     mean_days=Figure.of(sum(days * n for days, n in by_days.items()), offers),
                     median_days=median_of_counts(by_days), by_days=dict(sorted(by_days.items())))


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
                        for kind in every_category((k.value for k in AgencyKind), by_kind)},
        by_agency=agencies)


def closures_kpi(session: Session, start: datetime, end: datetime) -> ClosuresKpi:
    child_period = within(KpiClosureChild.closed_at, start, end)
    children_by = count_by(session, KpiClosureChild.outcome, distinct(col(KpiClosureChild.child_id)), child_period)
    children = int(session.exec(select(func.count(distinct(col(KpiClosureChild.child_id)))).where(child_period)).one())
    child_closures = int(session.exec(select(func.count()).select_from(KpiClosureChild).where(child_period)).one())
    cases_by = count_by(session, KpiClosure.outcome, distinct(col(KpiClosure.case_id)),
                       within(KpiClosure.closed_at, start, end))
    cases = sum(cases_by.values())
    outcomes = [o.value for o in ClosureOutcome]
    return ClosuresKpi(cases=cases, children=children, child_closures=child_closures,
                       by_category=shares(outcomes, children_by, children),
                       by_category_cases=shares(outcomes, cases_by, cases))


def closed_cases_kpi(session: Session, start: datetime, end: datetime, now: datetime) -> ClosedCasesKpi:
    """Per case closed in the period: did its family come back to Early Help
    (an Early Help decision) or to social care (a referral decision) within
    the 12 months after closure? Known only once those 12 months are over."""
    alias, family = family_now(KpiClosure.family_id)
    closed = session.exec(with_family_now(select(KpiClosure.case_id, family, KpiClosure.closed_at), KpiClosure, alias)
                          .where(within(KpiClosure.closed_at, start, end))).all()
    cases = {case_id: (family_id, closed_at) for case_id, family_id, closed_at in closed}
    known = {case_id: fc for case_id, fc in cases.items() if follow_up_over(fc[1], now)}
    came_to: dict[str, dict[uuid.UUID, list[datetime]]] = {"early_help": defaultdict(list),
                                                          "social_care": defaultdict(list)}
    if known:
        families = with_family_now(select(family), KpiClosure, alias).where(within(KpiClosure.closed_at, start, end))
        first = min(closed_at for _, closed_at in known.values())
        last = max(closed_at for _, closed_at in known.values())
        d_alias, d_family = family_now(KpiDecision.family_id)
        later = (with_family_now(select(d_family, KpiDecision.decision, KpiDecision.decided_at), KpiDecision, d_alias)
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
