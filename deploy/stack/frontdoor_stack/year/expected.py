"""The KPI report's figures for a period, computed from the generated
stream alone (its facts), the way the outcomes service defines them
(readmodel/report_models.py's rules), without importing it:

- contacts: received in [start, end), by referrer source;
- decisions: decided in the period; statutory threshold = referrals (social
  care assessment or S47) / decisions; Early Help share;
- re-referrals: per child referral decided in the period, a re-referral when
  the same child had a referral in the previous 12 months (calendar months
  in England, `frontdoor_contracts.periods`), by decision time;
- SPA to offer: offers made in the period; within target = offered before
  the case's due instant; days taken in the target's calendar; and the
  cases the allocation service warns about (due soon, overdue: still
  waiting for an offer two days before, and at, the due instant);
- closures: cases closed in the period, per child (distinct children per
  category and in the denominator: shares may add up to over 100%) and per
  case;
- closed cases not re-referred to Early Help / social care: of the cases
  closed in the period whose 12 months are over at `now`, those whose
  family had no Early Help (or no referral) decision in the 12 months from
  the closure;
- families with sustained outcomes: distinct families whose plan was
  achieved in the period. The year's plans that can be achieved inside a
  year are those of families known only from data whose adult moved into
  work (the generator marks them); a DA or children-in-need target needs a
  completed 182-day period and 182 days more, so no plan begun in the year
  is achieved inside it by those.

Figures are (numerator, denominator) pairs; `share` gives the ratio."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontdoor_contracts.periods import window_end, within_twelve_months
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, ClosureOutcome, Decision

from .calendar import Target
from .events import AchievedFact, AckFact, CaseFact, ContactFact, DecisionFact, Move, YearEvent

Figure = tuple[int, int]
DUE_SOON_LEAD = timedelta(days=2)


def share(figure: Figure) -> float | None:
    return figure[0] / figure[1] if figure[1] else None


@dataclass
class Expected:
    contacts: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    statutory: Figure = (0, 0)
    early_help: Figure = (0, 0)
    re_referrals: Figure = (0, 0)
    offers: int = 0
    within_target: Figure = (0, 0)
    late_offers: int = 0
    by_days: dict[int, int] = field(default_factory=dict)
    due_soon_cases: int = 0
    overdue_cases: int = 0
    closures_cases: int = 0
    closures_children: int = 0
    by_category: dict[str, Figure] = field(default_factory=dict)  # per child
    by_category_cases: dict[str, Figure] = field(default_factory=dict)
    closed: int = 0
    not_yet_known: int = 0
    not_back_to_early_help: Figure = (0, 0)
    not_back_to_social_care: Figure = (0, 0)
    sustained_families: int = 0
    cases_opened: dict[str, int] = field(default_factory=dict)
    da_incidents: int = 0
    da_notifications: int = 0
    da_next_day_school: int = 0
    acknowledgements: int = 0
    late_acknowledgements: int = 0


def _in(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _re_referrals(decisions: list[DecisionFact], start: datetime, end: datetime) -> Figure:
    last: dict[str, datetime] = {}
    total = re = 0
    for fact in sorted(decisions, key=lambda d: d.decided_at):
        if fact.decision not in REFERRAL_DECISIONS:
            continue
        for child in dict.fromkeys(fact.children):
            before = last.get(child)
            if _in(fact.decided_at, start, end):
                total += 1
                re += before is not None and within_twelve_months(before, fact.decided_at)
            last[child] = fact.decided_at
    return re, total


def _cases(events: Iterable[YearEvent]) -> dict[str, CaseFact]:
    """The latest fact of each case (the closure's holds the offer too)."""
    found: dict[str, CaseFact] = {}
    for event in events:
        if isinstance(event.fact, CaseFact):
            found[event.fact.case] = event.fact
    return found


def _offers(result: Expected, cases: dict[str, CaseFact], start: datetime, end: datetime, target: Target) -> None:
    days: Counter[int] = Counter()
    within = 0
    for case in cases.values():
        if _in(case.offered_at, start, end):
            assert case.offered_at is not None
            days[target.days_taken(case.started_at, case.offered_at)] += 1
            within += case.offered_at < case.due_at
        waiting_until = case.offered_at or (case.started_at + timedelta(days=3650))
        if not case.stepped_up:
            result.due_soon_cases += _in(case.due_at - DUE_SOON_LEAD, start, end) and \
                waiting_until > case.due_at - DUE_SOON_LEAD
            result.overdue_cases += _in(case.due_at, start, end) and waiting_until >= case.due_at
    result.offers = sum(days.values())
    result.within_target = (within, result.offers)
    result.late_offers = result.offers - within
    result.by_days = dict(sorted(days.items()))


def _closures(result: Expected, closed: list[CaseFact]) -> None:
    children: dict[str, set[str]] = defaultdict(set)
    cases: Counter[str] = Counter()
    for case in closed:
        assert case.outcome is not None
        children[case.outcome.value].update(case.children)
        cases[case.outcome.value] += 1
    everyone = set().union(*children.values()) if children else set()
    result.closures_cases, result.closures_children = len(closed), len(everyone)
    result.by_category = {o.value: (len(children[o.value]), len(everyone)) for o in ClosureOutcome}
    result.by_category_cases = {o.value: (cases[o.value], len(closed)) for o in ClosureOutcome}


def _came_back(closed_at: datetime, times: list[datetime]) -> bool:
    return any(t >= closed_at and within_twelve_months(closed_at, t) for t in times)


def _closed_cases(result: Expected, closed: list[CaseFact], decisions: list[DecisionFact], now: datetime) -> None:
    early_help: dict[str, list[datetime]] = defaultdict(list)
    social_care: dict[str, list[datetime]] = defaultdict(list)
    for fact in decisions:
        if fact.decision is Decision.EARLY_HELP:
            early_help[fact.family].append(fact.decided_at)
        elif fact.decision in REFERRAL_DECISIONS:
            social_care[fact.family].append(fact.decided_at)
    known = [c for c in closed if c.closed_at is not None and now >= window_end(c.closed_at)]
    result.closed, result.not_yet_known = len(closed), len(closed) - len(known)
    eh = sum(not _came_back(c.closed_at, early_help[c.family]) for c in known if c.closed_at is not None)
    sc = sum(not _came_back(c.closed_at, social_care[c.family]) for c in known if c.closed_at is not None)
    result.not_back_to_early_help, result.not_back_to_social_care = (eh, len(known)), (sc, len(known))


def expected(events: Iterable[YearEvent], start: datetime, end: datetime, now: datetime,
             target: Target | None = None) -> Expected:
    """The figures of the KPI report for [start, end) made at `now`, from the generated events."""
    events = list(events)
    result = Expected()
    contacts = [e.fact for e in events if isinstance(e.fact, ContactFact) and _in(e.fact.received_at, start, end)]
    result.contacts = len(contacts)
    result.by_source = dict(sorted(Counter(c.referrer_source for c in contacts).items()))
    result.da_incidents = sum(c.da_incident for c in contacts)
    result.da_notifications = sum(c.school_children for c in contacts)
    result.da_next_day_school = sum(c.school_children for c in contacts if c.school_day_next)
    decisions = [e.fact for e in events if isinstance(e.fact, DecisionFact)]
    decided = [d for d in decisions if _in(d.decided_at, start, end)]
    result.decisions = len(decided)
    result.statutory = (sum(d.decision in REFERRAL_DECISIONS for d in decided), len(decided))
    result.early_help = (sum(d.decision is Decision.EARLY_HELP for d in decided), len(decided))
    result.re_referrals = _re_referrals(decisions, start, end)
    cases = _cases(events)
    _offers(result, cases, start, end, target or Target())
    result.cases_opened = dict(sorted(Counter(c.source.value for c in cases.values()
                                              if _in(c.started_at, start, end)).items()))
    closed = [c for c in cases.values() if _in(c.closed_at, start, end)]
    _closures(result, closed)
    _closed_cases(result, closed, decisions, now)
    result.sustained_families = len({e.fact.family for e in events
                                     if isinstance(e.fact, AchievedFact) and _in(e.fact.achieved_at, start, end)})
    acks = [e for e in events if isinstance(e.fact, AckFact) and _in(e.at, start, end)]
    result.acknowledgements = len(acks)
    result.late_acknowledgements = sum(1 for e in acks if isinstance(e.fact, AckFact) and e.fact.late)
    return result


def moves(events: Iterable[YearEvent]) -> Counter[Move]:
    """How many of each case move the stream asks for (a player's tally to compare)."""
    from .events import CaseMove

    return Counter(e.move for e in events if isinstance(e, CaseMove))
