"""A family's cases: what a trigger does to them, and what families found
to be one do to them.

A trigger (`apply_trigger`) opens a case for its family, or joins the
family's open case (the earliest, if there were ever more than one), or,
already seen on any of the family's cases (a redelivery), changes nothing.

Families found to be one (contacts.families-merged.v1, `merge_family_cases`):
every case of a merged family becomes the remaining family's. If that
leaves the family more than one open case, one is kept and takes in the
others' triggers, children, concerns and level of need: a case whose offer
the family accepted (Early Help is under way there), else the one that
started first (it keeps the clock); among accepted ones, too, the one that
started first. The others close as `merged` (naming the case they joined). An
allocation or offer on a joined case is not carried over: the remaining
case's own stands, and the timeline of both says what happened. Applying
the same merge again changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from frontdoor_contracts.vocabulary import CaseStatus

from .calendar import DEFAULT_TARGET, BankHolidays, TargetPolicy
from .cases import Case
from .triggers import Trigger


class TriggerOutcome(StrEnum):
    OPENED = "opened"
    ATTACHED = "attached"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class TriggerResult:
    outcome: TriggerOutcome
    case: Case


def apply_trigger(
    family_cases: Iterable[Case],
    trigger: Trigger,
    *,
    opened_at: datetime,
    policy: TargetPolicy = DEFAULT_TARGET,
    bank_holidays: BankHolidays | None = None,
) -> TriggerResult:
    """Open a case for the trigger's family, attach the trigger to the family's open case, or, for a trigger
    already seen on any of the family's cases (a redelivery), change nothing."""
    cases = [case for case in family_cases if case.family_id == trigger.family_id]
    for case in cases:
        if case.has_trigger(trigger) or case.case_id == trigger.case_id:
            return TriggerResult(TriggerOutcome.DUPLICATE, case)
    open_cases = [case for case in cases if case.is_open]
    if open_cases:
        earliest = min(open_cases, key=lambda case: (case.started_at, case.case_id))
        return TriggerResult(TriggerOutcome.ATTACHED, earliest.attach(trigger))
    return TriggerResult(TriggerOutcome.OPENED, Case.open(trigger, opened_at=opened_at, policy=policy,
                                                          bank_holidays=bank_holidays))


def _keeper_first(case: Case) -> tuple[bool, datetime, str]:
    return case.status is not CaseStatus.ACCEPTED, case.started_at, str(case.case_id)


def merge_family_cases(cases: Sequence[Case], family_id: uuid.UUID, merged: Collection[uuid.UUID]) -> list[Case]:
    """Each case after the merge, in the order given (unchanged ones as they were)."""
    moved = [case.moved_to_family(family_id) if case.family_id in merged else case for case in cases]
    still_open = sorted((case for case in moved if case.is_open), key=_keeper_first)
    if len(still_open) < 2:
        return moved
    keeper = still_open[0]
    for other in still_open[1:]:
        keeper = keeper.absorb(other)
    joined = {other.case_id: other.merged_into_case(keeper.case_id) for other in still_open[1:]}
    return [keeper if case.case_id == keeper.case_id else joined.get(case.case_id, case) for case in moved]
