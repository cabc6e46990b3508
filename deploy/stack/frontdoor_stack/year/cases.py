"""An allocation case's life, planned when it opens: the weekly meeting
allocates it (between meetings when its target passes first), the lead
agency records the offer a few working days later (some late, past the
target), the family answers, and the case closes with an outcome category;
or the meeting steps it up (a family social care has just taken). Shares
come from decks (`Deck`): each block of draws holds the parameter's shares
to the unit, shuffled, so a year's figures sit on the parameters rather
than wander around them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from frontdoor_contracts.vocabulary import CaseSource, ClosureOutcome, OfferAnswer

from ..case_worker import closure_weights
from ..demo import DEMO_AGENCIES
from .calendar import Meetings, Target, add_working_days, at_local, local_date, next_working_day
from .events import CaseFact, CaseMove, CaseRef, Expect, Move, YearEvent
from .parameters import Parameters

DECK_SIZE = 200


class Deck:
    """Draws from weighted categories in shuffled blocks holding the weights to the unit."""

    def __init__(self, rng: random.Random, weights: dict[str, float], size: int = DECK_SIZE):
        self.rng, self.weights, self.size = rng, weights, size
        self.cards: list[str] = []

    def _fill(self) -> None:
        total = sum(self.weights.values())
        exact = {k: w / total * self.size for k, w in self.weights.items()}
        counts = {k: int(v) for k, v in exact.items()}
        short = self.size - sum(counts.values())
        for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:short]:
            counts[k] += 1
        self.cards = [k for k, n in counts.items() for _ in range(n)]
        self.rng.shuffle(self.cards)

    def draw(self) -> str:
        if not self.cards:
            self._fill()
        return self.cards.pop()


@dataclass(frozen=True)
class Opened:
    ref: CaseRef
    family: str
    children: tuple[str, ...]
    started_at: datetime
    step_up: bool = False


@dataclass(frozen=True)
class Planned:
    events: list[YearEvent]
    ended_at: datetime | None  # closed, declined (answered) or stepped up; None: beyond the horizon
    closed_at: datetime | None  # the closure (None when stepped up)


def _office(rng: random.Random, day_start: datetime, low: int = 9, high: int = 17) -> datetime:
    return at_local(local_date(day_start), time(rng.randrange(low, high), rng.randrange(60)))


class CasePlanner:
    def __init__(self, rng: random.Random, params: Parameters, horizon: datetime):
        self.rng, self.params, self.horizon = rng, params, horizon
        self.target: Target = params.target
        self.meetings = Meetings()
        self.offer_lag = Deck(rng, params.split("offer_lag_working_days"))
        self.late = Deck(rng, {"late": params.share("late_offer_share"),
                               "on_time": 1 - params.share("late_offer_share")})
        declined = params.share("declined_share")
        self.answers = Deck(rng, {"declined": declined, "accepted": 1 - declined})
        split = {ClosureOutcome(k): round(v * 1000) for k, v in params.split("closure_per_case").items()}
        accepted, refused = closure_weights(params.share("declined_among_closures"), split)
        self.accepted = Deck(rng, {k.value: v for k, v in accepted.items()})
        self.declined = Deck(rng, {k.value: v for k, v in refused.items()})

    def _allocation(self, started_at: datetime, due_at: datetime) -> tuple[datetime, bool]:
        meeting = self.meetings.next(started_at)
        if meeting < due_at:
            return meeting + timedelta(minutes=self.rng.randrange(5, 120)), True
        day = next_working_day(local_date(started_at) + timedelta(days=1))
        return _office(self.rng, at_local(day, time(9))), False

    def _offer_day(self, allocated_at: datetime, due_at: datetime) -> datetime:
        if self.late.draw() == "late":
            low, high = self.params.span("late_offer_extra_working_days")
            day = add_working_days(local_date(due_at - timedelta(seconds=1)), self.rng.randint(int(low), int(high)))
        else:
            day = add_working_days(local_date(allocated_at), int(self.offer_lag.draw()))
            day = min(day, local_date(due_at - timedelta(seconds=1)))
        offered = _office(self.rng, at_local(day, time(9)))
        return max(offered, allocated_at + timedelta(minutes=30))

    def plan(self, opened: Opened) -> Planned:
        rng, ref = self.rng, opened.ref
        due_at = self.target.due_at(opened.started_at)
        fact = CaseFact(ref.key, opened.family, opened.children, ref.source, opened.started_at, due_at)
        events: list[YearEvent] = [Expect(opened.started_at, "case-opened", ref, fact)]
        allocated_at, at_meeting = self._allocation(opened.started_at, due_at)
        if opened.step_up:
            stepped = CaseFact(**{**fact.__dict__, "stepped_up": True})
            events.append(CaseMove(allocated_at, ref, Move.STEP_UP, {"stepped_up_at": allocated_at.isoformat()},
                                   stepped))
            return self._within(Planned(events, allocated_at, None))
        agency_id, _, kind = rng.choice(DEMO_AGENCIES)
        events.append(CaseMove(allocated_at, ref, Move.ALLOCATE, {
            "lead_agency_id": agency_id, "agency_kind": kind.value,
            "lead_professional_ref": f"{agency_id}.lp-{rng.randint(1, 6)}", "at_meeting": at_meeting,
            "allocated_at": allocated_at.isoformat()}, fact))
        offered_at = self._offer_day(allocated_at, due_at)
        offered = CaseFact(**{**fact.__dict__, "offered_at": offered_at})
        events.append(CaseMove(offered_at, ref, Move.OFFER, {"offered_at": offered_at.isoformat()}, offered))
        low, high = self.params.span("answer_lag_working_days")
        answer_day = add_working_days(local_date(offered_at), rng.randint(int(low), int(high)))
        answered_at = _office(rng, at_local(answer_day, time(9)))
        answer = OfferAnswer(self.answers.draw())
        events.append(CaseMove(answered_at, ref, Move.ANSWER,
                               {"answer": answer.value, "answered_at": answered_at.isoformat()}, offered))
        if answer is OfferAnswer.DECLINED:
            low, high = self.params.span("declined_close_days")
            days, outcome = rng.randint(int(low), int(high)), ClosureOutcome(self.declined.draw())
            ended = answered_at
        else:
            low, high = self.params.span("case_weeks")
            days, outcome = 7 * rng.randint(int(low), int(high)), ClosureOutcome(self.accepted.draw())
            ended = None
        close_day = next_working_day(local_date(answered_at) + timedelta(days=days))
        closed_at = _office(rng, at_local(close_day, time(9)))
        closed = CaseFact(**{**offered.__dict__, "closed_at": closed_at, "outcome": outcome})
        events.append(CaseMove(closed_at, ref, Move.CLOSE,
                               {"outcome": outcome.value, "closed_at": closed_at.isoformat()}, closed))
        return self._within(Planned(events, ended or closed_at, closed_at))

    def _within(self, planned: Planned) -> Planned:
        """Only what happens before the horizon."""
        events = [e for e in planned.events if e.at < self.horizon]
        ended = planned.ended_at if planned.ended_at is not None and planned.ended_at < self.horizon else None
        closed = planned.closed_at if planned.closed_at is not None and planned.closed_at < self.horizon else None
        return Planned(events, ended, closed)


def is_decision_source(source: CaseSource) -> bool:
    return source in (CaseSource.EARLY_HELP_DECISION, CaseSource.NFA_REVIEW)
