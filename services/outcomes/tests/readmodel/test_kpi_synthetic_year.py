"""A synthetic year of every consumed event, from a seeded generator: the
report equals the figures this test computes on its own from the
generator's lists (plain loops, a union-find for the merges), whatever
order the events arrive in, and applying them all again changes nothing."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from frontdoor_contracts.notifications import NotificationKind
from frontdoor_contracts.vocabulary import (
    AgencyKind,
    CaseSource,
    ClosureOutcome,
    Decision,
    HeadlineProblem,
    ReferrerSource,
)
from outcomes.readmodel.report_models import (
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

START = datetime(2025, 4, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = END + timedelta(days=120)
YEAR = timedelta(days=365)
LONDON = ZoneInfo("Europe/London")
SOCIAL_CARE = {Decision.S47_STRATEGY_DISCUSSION, Decision.SOCIAL_CARE_ASSESSMENT}
AGENCIES = [("school-1", AgencyKind.SCHOOL), ("school-2", AgencyKind.SCHOOL),
            ("hv-1", AgencyKind.HEALTH_VISITING), ("vcs-1", AgencyKind.VOLUNTARY_SECTOR),
            ("la-eh-1", AgencyKind.LA_EARLY_HELP), ("la-eh-2", AgencyKind.LA_EARLY_HELP),
            ("police-1", AgencyKind.POLICE)]


def fig(numerator: int, denominator: int) -> Figure:
    return Figure(numerator=numerator, denominator=denominator,
                  value=numerator / denominator if denominator else None)


def in_period(at: datetime) -> bool:
    return START <= at < END


@dataclass
class Year:
    """The generator's own record of everything it published."""

    items: list[Any] = field(default_factory=list)
    children: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    merges: list[tuple[uuid.UUID, list[uuid.UUID]]] = field(default_factory=list)
    contacts: list[tuple[uuid.UUID, uuid.UUID, ReferrerSource, datetime]] = field(default_factory=list)
    decisions: list[tuple[uuid.UUID, uuid.UUID, Decision, datetime, list[tuple[uuid.UUID, bool]]]] = field(
        default_factory=list)
    corrections: list[tuple[str, uuid.UUID, uuid.UUID, datetime, datetime]] = field(default_factory=list)
    opened: list[tuple[uuid.UUID, uuid.UUID, CaseSource, list[HeadlineProblem], datetime]] = field(
        default_factory=list)
    allocations: list[tuple[str, AgencyKind, datetime]] = field(default_factory=list)
    offers: list[tuple[int, bool, datetime]] = field(default_factory=list)
    closures: list[tuple[uuid.UUID, uuid.UUID, ClosureOutcome, list[uuid.UUID], datetime]] = field(
        default_factory=list)
    deliveries: list[tuple[uuid.UUID, NotificationKind, bool | None, datetime]] = field(default_factory=list)
    identified: list[tuple[uuid.UUID, list[HeadlineProblem], datetime]] = field(default_factory=list)
    achieved: list[tuple[uuid.UUID, uuid.UUID, datetime]] = field(default_factory=list)
    claims: list[tuple[uuid.UUID, str, datetime]] = field(default_factory=list)


def generate(kit, seed: int) -> Year:
    rnd = random.Random(seed)
    year = Year()

    def uid() -> uuid.UUID:
        return uuid.UUID(int=rnd.getrandbits(128), version=4)

    def when(lo: timedelta, hi: timedelta, base: datetime = START) -> datetime:
        return base + lo + timedelta(seconds=rnd.randrange(int((hi - lo).total_seconds())))

    families = [uid() for _ in range(80)]
    for family in families:
        year.children[family] = [uid() for _ in range(rnd.randint(1, 3))]

    def some(values: list[Any], low: int = 1) -> list[Any]:
        return rnd.sample(values, rnd.randint(low, len(values)))

    # Merges, some of families already merged or remaining (merges of merges).
    for n in range(12):
        remaining = families[n] if n < 8 else families[n - 8]
        merged = [families[20 + n]] if n < 8 else [families[n + 30], families[n - 4]]
        year.merges.append((remaining, merged))
        year.items.append(kit.merged(remaining, merged, when(-timedelta(days=30), YEAR)))

    def contact(family: uuid.UUID, at: datetime, decision: Decision | None = None, decided: datetime | None = None,
                decide: bool = True) -> None:
        contact_id, source = uid(), rnd.choice(list(ReferrerSource))
        kids = some(year.children[family])
        year.contacts.append((contact_id, family, source, at))
        year.items.append(kit.recorded(contact_id, family, source, at, kids))
        if not decide:
            return
        decision = decision or rnd.choices(list(Decision), weights=[1, 3, 4, 2, 2, 3])[0]
        decided = decided or at + timedelta(seconds=rnd.randrange(3 * 86400))
        flags = [(kid, decision in SOCIAL_CARE and rnd.random() < 0.3) for kid in kids]
        year.decisions.append((contact_id, family, decision, decided, flags))
        year.items.append(kit.decided(contact_id, family, decision, decided, flags))

    for _ in range(300):
        contact(rnd.choice(families), when(-timedelta(days=30), YEAR + timedelta(days=30)),
                decide=rnd.random() < 0.85)
    contact(families[0], START, decided=START)  # at the period's edges: in, out
    contact(families[1], END, decided=END)
    contact(families[2], END - timedelta(hours=1), decided=END + timedelta(hours=1))

    # Corrections: referrals not flagged, found to be re-referrals after all (some twice, some already flagged).
    referrals = [(d[0], kid, d[3], again) for d in year.decisions if d[2] in SOCIAL_CARE for kid, again in d[4]]
    for contact_id, kid, decided, _ in rnd.sample(referrals, 25):
        for _ in range(rnd.choice([1, 1, 2])):
            event_id = f"correction-{uid()}"
            corrected_at = decided + timedelta(days=rnd.randint(1, 60))
            year.corrections.append((event_id, contact_id, kid, decided, corrected_at))
            year.items.append(kit.corrected(contact_id, kid, decided, corrected_at, event_id=event_id))

    # Cases: opened, allocated, offered, closed; plans; outcomes and claims.
    for _ in range(70):
        family, case_id = rnd.choice(families), uid()
        source = rnd.choice(list(CaseSource))
        problems = some(list(HeadlineProblem)) if rnd.random() < 0.4 else []
        opened_at = when(-timedelta(days=60), YEAR + timedelta(days=10))
        year.opened.append((case_id, family, source, problems, opened_at))
        year.items.append(kit.opened(case_id, family, source, opened_at, some(year.children[family]), problems))
        if rnd.random() < 0.8:
            agency, kind = rnd.choice(AGENCIES)
            allocated_at = opened_at + timedelta(days=rnd.randint(1, 10))
            year.allocations.append((agency, kind, allocated_at))
            year.items.append(kit.allocated(case_id, family, allocated_at, agency, kind))
            if rnd.random() < 0.85:
                days = rnd.randint(0, 20)
                offered_at = allocated_at + timedelta(days=rnd.randint(0, 5))
                year.offers.append((days, days <= 10, offered_at))
                year.items.append(kit.offered(case_id, family, offered_at, days, days <= 10, kind))
        if rnd.random() < 0.5:
            closed_at = opened_at + timedelta(days=rnd.randint(30, 300))
            outcome, kids = rnd.choice(list(ClosureOutcome)), some(year.children[family])
            year.closures.append((case_id, family, outcome, kids, closed_at))
            year.items.append(kit.closed(case_id, family, closed_at, outcome, kids))
        if rnd.random() < 0.35:
            achieved_at = opened_at + timedelta(days=rnd.randint(100, 500))
            year.achieved.append((family, case_id, achieved_at))
            year.items.append(kit.achieved(family, case_id, achieved_at))
            if rnd.random() < 0.6:
                basis = rnd.choice(["sustained_progress", "continuous_employment"])
                eligible_at = achieved_at + timedelta(days=rnd.randint(0, 30))
                year.claims.append((family, basis, eligible_at))
                year.items.append(kit.claim(family, case_id, basis, eligible_at))
    # Closures early in the period (their 12 months are over at NOW), and families coming back or not.
    for n in range(40):
        family, case_id = rnd.choice(families), uid()
        closed_at = START if n == 0 else when(timedelta(0), timedelta(days=200))
        outcome, kids = rnd.choice(list(ClosureOutcome)), some(year.children[family])
        year.closures.append((case_id, family, outcome, kids, closed_at))
        year.items.append(kit.closed(case_id, family, closed_at, outcome, kids))
        if n % 2:
            back = rnd.choice([family, *[m for r, ms in year.merges if r == family for m in ms]])
            later = closed_at + timedelta(days=rnd.choice([-20, 30, 200, 364, 366, 400]), hours=rnd.randint(-1, 1))
            contact(back, later, decision=rnd.choice([Decision.EARLY_HELP, Decision.SOCIAL_CARE_ASSESSMENT,
                                                      Decision.S47_STRATEGY_DISCUSSION, Decision.SIGNPOSTED]),
                    decided=later)
    for _ in range(40):
        family = rnd.choice(families)
        identified_at = when(-timedelta(days=90), YEAR + timedelta(days=30))
        problems = some(list(HeadlineProblem))
        year.identified.append((family, problems, identified_at))
        year.items.append(kit.identified(family, year.children[family], problems, identified_at))
    for n in range(130):
        notification_id, kind = uid(), rnd.choice(list(NotificationKind))
        before = rnd.choice([True, True, True, False, None])
        delivered_at = when(-timedelta(days=10), YEAR + timedelta(days=10))
        for _ in range(2 if n % 20 == 0 else 1):  # a few delivered twice (another event id, same facts)
            year.deliveries.append((notification_id, kind, before, delivered_at))
            year.items.append(kit.delivered(notification_id, kind, delivered_at, before))
    return year


def expected_report(year: Year) -> KpiReport:
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def find(family: uuid.UUID) -> uuid.UUID:
        while parent.get(family, family) != family:
            family = parent[family]
        return family

    for remaining, merged in year.merges:
        for other in merged:
            a, b = find(remaining), find(other)
            if a != b:
                parent[b] = a

    sources = Counter(source for _, _, source, at in year.contacts if in_period(at))
    contacts_total = sum(sources.values())
    contacts = ContactsKpi(total=contacts_total, by_source={
        s.value: fig(sources[s], contacts_total) for s in sorted(ReferrerSource, key=lambda s: s.value)})

    decided = [d for d in year.decisions if in_period(d[3])]
    kinds = Counter(d[2] for d in decided)
    decisions = DecisionsKpi(
        total=len(decided), statutory_threshold=fig(sum(kinds[d] for d in SOCIAL_CARE), len(decided)),
        early_help=fig(kinds[Decision.EARLY_HELP], len(decided)),
        by_decision={d.value: kinds[d] for d in sorted(Decision, key=lambda d: d.value)})

    latest: dict[tuple[uuid.UUID, uuid.UUID], tuple[datetime, str]] = {}
    for event_id, contact_id, kid, decided_at, corrected_at in year.corrections:
        if in_period(decided_at):
            latest[(contact_id, kid)] = max(latest.get((contact_id, kid), (corrected_at, event_id)),
                                            (corrected_at, event_id))
    child_referrals = [((d[0], kid), again) for d in decided if d[2] in SOCIAL_CARE for kid, again in d[4]]
    re_referred = sum(1 for key, again in child_referrals if again or key in latest)
    corrected = sum(1 for key, again in child_referrals if key in latest and not again)
    re_referrals = ReReferralKpi(rate=fig(re_referred, len(child_referrals)), corrected=corrected)

    offers = [(days, within) for days, within, at in year.offers if in_period(at)]
    by_days = Counter(days for days, _ in offers)
    spa_to_offer = OffersKpi(
        offers=len(offers), within_target=fig(sum(1 for _, w in offers if w), len(offers)),
        mean_days=fig(sum(days for days, _ in offers), len(offers)),
        median_days=statistics.median(days for days, _ in offers) if offers else None,
        by_days={days: by_days[days] for days in sorted(by_days)})

    da = defaultdict(set)
    for notification_id, kind, before, at in year.deliveries:
        if kind == NotificationKind.DA_INCIDENT and in_period(at):
            da[before].add(notification_id)
    da_notifications = DaNotificationsKpi(before_school_day=fig(len(da[True]), len(da[True]) + len(da[False])),
                                          without_deadline=len(da[None]))

    closed = [c for c in year.closures if in_period(c[4])]
    per_child: dict[str, set[uuid.UUID]] = defaultdict(set)
    for _, _, outcome, kids, _ in closed:
        per_child[outcome.value].update(kids)
    children = set().union(*per_child.values()) if per_child else set()
    per_case = Counter(outcome.value for _, _, outcome, _, _ in closed)
    outcomes = sorted(o.value for o in ClosureOutcome)
    closures = ClosuresKpi(
        cases=len(closed), children=len(children), child_closures=sum(len(c[3]) for c in closed),
        by_category={o: fig(len(per_child[o]), len(children)) for o in outcomes},
        by_category_cases={o: fig(per_case[o], len(closed)) for o in outcomes})

    identified = [(find(f), problems) for f, problems, at in year.identified if in_period(at)]
    by_problem = defaultdict(set)
    for family, problems in identified:
        for problem in problems:
            by_problem[problem.value].add(family)
    first_identified: dict[uuid.UUID, datetime] = {}
    for f, _, at in year.identified:
        first_identified[find(f)] = min(at, first_identified.get(find(f), at))
    plans = [(find(f), case_id) for case_id, f, source, problems, at in year.opened
             if in_period(at) and (problems or source == CaseSource.IDENTIFIED_IN_DATA
                                   or first_identified.get(find(f), NOW + YEAR) <= at)]
    sustained_cases = {case_id for _, case_id, at in year.achieved if at < NOW}
    planned = {family for family, _ in plans}
    claims = defaultdict(set)
    for f, basis, at in year.claims:
        if in_period(at):
            claims[basis].add(find(f))
    families = FamiliesKpi(
        identified=len({family for family, _ in identified}),
        identified_by_problem={p: len(by_problem[p]) for p in sorted(h.value for h in HeadlineProblem)},
        with_plans=len(planned),
        sustained=len({find(f) for f, _, at in year.achieved if in_period(at)}),
        claim_eligible=len(set().union(*claims.values())) if claims else 0,
        claim_eligible_by_basis={basis: len(claims[basis]) for basis in sorted(claims)},
        plans_sustained=fig(len({family for family, case_id in plans if case_id in sustained_cases}), len(planned)))

    def twelve_months_on(closed_at: datetime) -> datetime:
        """Midnight in England at the start of the closure's anniversary (29 February's: 1 March)."""
        day = closed_at.astimezone(LONDON).date()
        anniversary = date(day.year + 1, 3, 1) if (day.month, day.day) == (2, 29) else day.replace(year=day.year + 1)
        return datetime.combine(anniversary, time(0), tzinfo=LONDON)

    known = [(find(f), at) for _, f, _, _, at in closed if twelve_months_on(at) <= NOW]

    def came_back(family: uuid.UUID, closed_at: datetime, wanted: set[Decision]) -> bool:
        return any(find(d[1]) == family and d[2] in wanted and closed_at <= d[3] < twelve_months_on(closed_at)
                   for d in year.decisions)

    closed_cases = ClosedCasesKpi(
        closed=len(closed), not_yet_known=len(closed) - len(known),
        not_re_referred_to_early_help=fig(sum(not came_back(f, at, {Decision.EARLY_HELP}) for f, at in known),
                                          len(known)),
        not_re_referred_to_social_care=fig(sum(not came_back(f, at, SOCIAL_CARE) for f, at in known), len(known)))

    allocated = Counter((agency, kind.value) for agency, kind, at in year.allocations if in_period(at))
    total = sum(allocated.values())
    kinds_count = Counter()
    organisations = defaultdict(set)
    for (agency, kind), n in allocated.items():
        kinds_count[kind] += n
        organisations[kind].add(agency)
    lead = LeadProfessionalsKpi(
        allocations=total, organisations=len({agency for agency, _ in allocated}),
        by_agency_kind={k: LeadKindKpi(allocations=fig(kinds_count[k], total), organisations=len(organisations[k]))
                        for k in sorted(a.value for a in AgencyKind)},
        by_agency=[LeadAgency(lead_agency_id=agency, agency_kind=kind, allocations=n)
                   for (agency, kind), n in sorted(allocated.items())])

    return KpiReport(period_start=START, period_end=END, generated_at=NOW, contacts=contacts, decisions=decisions,
                     re_referrals=re_referrals, spa_to_offer=spa_to_offer, da_notifications=da_notifications,
                     closures=closures, families=families, closed_cases=closed_cases, lead_professionals=lead)


@pytest.mark.parametrize("seed", [20250401])
def test_a_synthetic_year_reports_the_figures_computed_from_the_generator(kit, seed: int) -> None:
    year = generate(kit, seed)
    expected = expected_report(year)
    # the year exercises every KPI
    assert expected.contacts.total > 250 and expected.re_referrals.rate.numerator > 0
    assert expected.re_referrals.corrected > 0 and expected.closed_cases.not_yet_known > 0
    assert 0 < expected.closed_cases.not_re_referred_to_early_help.numerator \
        < expected.closed_cases.not_re_referred_to_early_help.denominator
    assert 0 < expected.closed_cases.not_re_referred_to_social_care.numerator \
        < expected.closed_cases.not_re_referred_to_social_care.denominator
    assert expected.families.plans_sustained.numerator > 0 and expected.families.claim_eligible > 0
    assert expected.closures.child_closures > expected.closures.children  # some children closed twice

    arriving = list(year.items)
    random.Random(seed).shuffle(arriving)  # any order: merges before or after the facts they join
    first = [changed for at in range(0, len(arriving), 50) for changed in kit.apply(arriving[at:at + 50])]
    # each event a new fact (a delivery redelivered under another event id too), but merges already made
    assert sum(first) == len(first) - skipped_merges(arriving)
    report = kit.report(START, END, NOW)
    assert report == expected

    again = kit.apply(year.items)  # every event redelivered, in publication order
    assert not any(again)
    repeated = kit.report(START, END, NOW)
    assert repeated == expected
    assert repeated.model_dump_json() == report.model_dump_json()


def skipped_merges(arriving: list[Any]) -> int:
    """Merges that find their families already one when they arrive (nothing to change)."""
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def find(family: uuid.UUID) -> uuid.UUID:
        while parent.get(family, family) != family:
            family = parent[family]
        return family

    skipped = 0
    for topic, event in arriving:
        if topic != "contacts.families-merged.v1":
            continue
        changed = False
        for other in event.data.merged_family_ids:
            a, b = find(event.data.family_id), find(other)
            if a != b:
                parent[b] = a
                changed = True
        skipped += not changed
    return skipped
