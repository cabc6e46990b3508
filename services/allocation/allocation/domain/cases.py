"""An allocation case: one open case per family, immutable (every move
returns a new `Case`). Which move each status allows is `transitions.py`'s;
a move it does not allow raises `IllegalTransition`. A move's time is not
before the step it follows (an allocation or a step up not before the start,
an offer not before the allocation, an answer not before the offer, a
closure not before the case's last move).

A trigger for a family that has an open case is attached to it (see
`families.apply_trigger`): its children, concerns and headline problems join
the case, its level of need raises the case's if higher; it never moves the
clock. A trigger already attached (the same event, redelivered) changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TypeVar

from frontdoor_contracts.vocabulary import (
    AgencyKind,
    CaseSource,
    CaseStatus,
    ClosureOutcome,
    Concern,
    HeadlineProblem,
    LevelOfNeed,
    OfferAnswer,
    TargetCalendar,
)

from .calendar import DEFAULT_TARGET, BankHolidays, TargetPolicy, days_between, due_at, due_date_of, local_date
from .sla import DEFAULT_SLA, SlaEvent, SlaPolicy, owed_sla_events
from .transitions import (
    ALLOCATE,
    ALLOWED_FROM,
    ATTACH,
    CLOSE,
    CLOSE_AS,
    MERGE,
    NOT_OPEN,
    RECORD_ANSWER,
    RECORD_OFFER,
    STEP_UP,
    IllegalTransition,
)
from .triggers import Trigger


@dataclass(frozen=True)
class Allocation:
    lead_agency_id: str
    agency_kind: AgencyKind
    lead_professional_ref: str
    allocated_by: str
    allocated_at: datetime
    at_meeting: bool


@dataclass(frozen=True)
class Closure:
    outcome: ClosureOutcome
    closed_at: datetime
    closed_by: str
    status_before: CaseStatus


class TooEarly(ValueError):
    """A move's time before the step it follows: names the field and that step (never the value)."""

    def __init__(self, field: str, than: str, case_id: uuid.UUID):
        self.field, self.than = field, than
        super().__init__(f"{field} cannot be before {than} on case {case_id}")


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone")
    return moment


T = TypeVar("T")


def _union(first: tuple[T, ...], more: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys((*first, *more)))


@dataclass(frozen=True)
class Case:
    """An allocation case. Times are stored in UTC."""

    case_id: uuid.UUID
    family_id: uuid.UUID
    source: CaseSource
    started_at: datetime
    due_at: datetime
    target_days: int
    target_calendar: TargetCalendar
    opened_at: datetime
    triggers: tuple[Trigger, ...]
    child_ids: tuple[uuid.UUID, ...] = ()
    level_of_need: LevelOfNeed | None = None
    concerns: tuple[Concern, ...] = ()
    headline_problems: tuple[HeadlineProblem, ...] = ()
    status: CaseStatus = CaseStatus.OPEN
    allocation: Allocation | None = None
    offered_at: datetime | None = None
    answer: OfferAnswer | None = None
    answered_at: datetime | None = None
    stepped_up_at: datetime | None = None
    sla_emitted: frozenset[SlaEvent] = frozenset()
    merged_into: uuid.UUID | None = None
    closure: Closure | None = None

    # ---- opening and attaching

    @classmethod
    def open(
        cls,
        trigger: Trigger,
        *,
        opened_at: datetime,
        policy: TargetPolicy = DEFAULT_TARGET,
        bank_holidays: BankHolidays | None = None,
    ) -> Case:
        """A new case for the trigger's family; the clock starts at the trigger's event time."""
        started_at = _aware(trigger.occurred_at, "the trigger's time").astimezone(UTC)
        return cls(
            case_id=trigger.case_id,
            family_id=trigger.family_id,
            source=trigger.source,
            started_at=started_at,
            due_at=due_at(started_at, policy, bank_holidays),
            target_days=policy.days,
            target_calendar=policy.calendar,
            opened_at=_aware(opened_at, "opened_at").astimezone(UTC),
            triggers=(trigger,),
            child_ids=trigger.child_ids,
            level_of_need=trigger.level_of_need,
            concerns=trigger.concerns,
            headline_problems=trigger.headline_problems,
        )

    def has_trigger(self, trigger: Trigger) -> bool:
        return any((t.event_source, t.event_id) == (trigger.event_source, trigger.event_id) for t in self.triggers)

    def attach(self, trigger: Trigger) -> Case:
        """Join a further trigger for the same family to this open case (no change if already attached)."""
        if trigger.family_id != self.family_id:
            raise ValueError(f"a trigger for another family cannot join case {self.case_id}")
        if self.has_trigger(trigger):
            return self
        self._check(ATTACH)
        levels = [level for level in (self.level_of_need, trigger.level_of_need) if level is not None]
        return replace(
            self,
            triggers=(*self.triggers, trigger),
            child_ids=_union(self.child_ids, trigger.child_ids),
            level_of_need=max(levels) if levels else None,
            concerns=_union(self.concerns, trigger.concerns),
            headline_problems=_union(self.headline_problems, trigger.headline_problems),
        )

    # ---- families found to be one

    def moved_to_family(self, family_id: uuid.UUID) -> Case:
        """The case (open or closed) of a family now part of `family_id`."""
        if self.family_id == family_id:
            return self
        return replace(self, family_id=family_id,
                       triggers=tuple(replace(t, family_id=family_id) for t in self.triggers))

    def absorb(self, other: Case) -> Case:
        """Another open case of the same family joins this one: its triggers,
        children, concerns and level of need; this case's clock stays."""
        other._check(MERGE)
        case = self
        for trigger in other.triggers:
            case = case.attach(trigger)
        return case

    def merged_into_case(self, case_id: uuid.UUID) -> Case:
        self._check(MERGE)
        return replace(self, status=CaseStatus.MERGED, merged_into=case_id)

    # ---- status

    @property
    def is_open(self) -> bool:
        return self.status not in NOT_OPEN

    @property
    def awaiting_allocation(self) -> bool:
        return self.status is CaseStatus.OPEN

    @property
    def awaiting_offer(self) -> bool:
        return self.status in (CaseStatus.OPEN, CaseStatus.ALLOCATED)

    @property
    def due_date(self) -> date:
        return due_date_of(self.due_at)

    def _check(self, action: str) -> None:
        if self.status not in ALLOWED_FROM[action]:
            raise IllegalTransition(self.case_id, action, self.status)

    def _not_before(self, moment: datetime, earlier: datetime, what: str, than: str) -> datetime:
        if _aware(moment, what) < earlier:
            raise TooEarly(what, than, self.case_id)
        return moment.astimezone(UTC)

    # ---- moves

    def allocate(
        self,
        *,
        lead_agency_id: str,
        agency_kind: AgencyKind,
        lead_professional_ref: str,
        allocated_by: str,
        allocated_at: datetime,
        at_meeting: bool,
    ) -> Case:
        self._check(ALLOCATE)
        allocated_at = self._not_before(allocated_at, self.started_at, "allocated_at", "the case started")
        allocation = Allocation(
            lead_agency_id, agency_kind, lead_professional_ref, allocated_by, allocated_at, at_meeting
        )
        return replace(self, status=CaseStatus.ALLOCATED, allocation=allocation)

    def record_offer(self, offered_at: datetime) -> Case:
        self._check(RECORD_OFFER)
        assert self.allocation is not None
        offered_at = self._not_before(offered_at, self.allocation.allocated_at, "offered_at", "the allocation")
        return replace(self, status=CaseStatus.OFFER_MADE, offered_at=offered_at)

    def record_answer(self, answer: OfferAnswer, answered_at: datetime) -> Case:
        self._check(RECORD_ANSWER)
        assert self.offered_at is not None
        answered_at = self._not_before(answered_at, self.offered_at, "answered_at", "the offer")
        status = CaseStatus.ACCEPTED if answer is OfferAnswer.ACCEPTED else CaseStatus.DECLINED
        return replace(self, status=status, answer=answer, answered_at=answered_at)

    def step_up(self, stepped_up_at: datetime) -> Case:
        self._check(STEP_UP)
        stepped_up_at = self._not_before(stepped_up_at, self.started_at, "stepped_up_at", "the case started")
        return replace(self, status=CaseStatus.STEPPED_UP, stepped_up_at=stepped_up_at)

    def close(self, outcome: ClosureOutcome, *, closed_at: datetime, closed_by: str) -> Case:
        """The lead agency closes the case with an outcome category (see the module's table)."""
        self._check(CLOSE)
        allowed = CLOSE_AS[outcome]
        if self.status not in allowed:
            raise IllegalTransition(self.case_id, CLOSE, self.status, allowed=allowed, how=f" as {outcome.value}")
        last, what = self._last_move()
        closed_at = self._not_before(closed_at, last, "closed_at", what)
        closure = Closure(outcome, closed_at, closed_by, self.status)
        return replace(self, status=CaseStatus.CLOSED, closure=closure)

    def _last_move(self) -> tuple[datetime, str]:
        if self.answered_at is not None:
            return self.answered_at, "the answer"
        if self.offered_at is not None:
            return self.offered_at, "the offer"
        assert self.allocation is not None
        return self.allocation.allocated_at, "the allocation"

    @property
    def closed_at(self) -> datetime | None:
        return self.closure.closed_at if self.closure is not None else None

    # ---- days

    def days_waiting(self, now: datetime, bank_holidays: BankHolidays | None = None) -> int:
        """Days (of the case's calendar) from the start to the offer, or to its closure without one, or to
        today while there is neither."""
        end = self.offered_at or self.closed_at or now
        return days_between(local_date(self.started_at), local_date(end), self.target_calendar, bank_holidays)

    def days_left(self, now: datetime, bank_holidays: BankHolidays | None = None) -> int:
        """Days (of the case's calendar) from today to the due date: 0 on the due date, negative when overdue."""
        return days_between(local_date(now), self.due_date, self.target_calendar, bank_holidays)

    def days_taken(self, bank_holidays: BankHolidays | None = None) -> int | None:
        """SPA decision to offer, in days of the case's calendar; None before an offer."""
        if self.offered_at is None:
            return None
        start, offered = local_date(self.started_at), local_date(self.offered_at)
        return days_between(start, offered, self.target_calendar, bank_holidays)

    @property
    def within_target(self) -> bool | None:
        return None if self.offered_at is None else self.offered_at < self.due_at

    def is_overdue(self, now: datetime) -> bool:
        """No offer yet and the target has passed: stays true until an offer or a step up."""
        return self.awaiting_offer and now >= self.due_at

    # ---- never late without anyone knowing

    def sla_owed(self, now: datetime, policy: SlaPolicy = DEFAULT_SLA) -> tuple[SlaEvent, ...]:
        return owed_sla_events(
            self.due_at, now, awaiting_offer=self.awaiting_offer, emitted=self.sla_emitted, policy=policy
        )

    def mark_sla_emitted(self, kind: SlaEvent) -> Case:
        return replace(self, sla_emitted=self.sla_emitted | {kind})
