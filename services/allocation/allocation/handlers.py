"""Trigger or command in -> case change -> events out, in one transaction.
The rules are the domain's; this module stores and announces.

Several workers and the API change cases at once (README, "Several workers"): a trigger or a merge holds its
families first (`family_locks`), and every change reads its cases locked, so each decision (open a case or
join one, merge, a move, an SLA warning) is made on what is committed, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session

from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_ANSWERED,
    ALLOCATION_OFFER_DUE_SOON,
    ALLOCATION_OFFER_MADE,
    ALLOCATION_OFFER_OVERDUE,
    ALLOCATION_STEPPED_UP,
)
from frontdoor_contracts.vocabulary import AgencyKind, ClosureOutcome, OfferAnswer
from frontdoor_platform import outbox

from . import family_locks, outgoing, store
from .domain.calendar import BankHolidays, TargetPolicy
from .domain.cases import Case
from .domain.families import TriggerOutcome, apply_trigger, merge_family_cases
from .domain.sla import SlaEvent, SlaPolicy, sla_event_id
from .domain.triggers import NfaReviewPolicy, Trigger
from .models import OutboxEvent

SLA_TOPICS = {SlaEvent.DUE_SOON: ALLOCATION_OFFER_DUE_SOON.name, SlaEvent.OVERDUE: ALLOCATION_OFFER_OVERDUE.name}


@dataclass(frozen=True)
class Rules:
    target: TargetPolicy
    bank_holidays: BankHolidays
    sla: SlaPolicy
    nfa: NfaReviewPolicy
    source_uri: str


class CaseNotFound(LookupError):
    pass


def _emit(session: Session, rules: Rules, topic: str, case: Case, data: EventData, time: datetime, now: datetime,
          event_id: str) -> None:
    event = new_event(data, source=rules.source_uri, subject=str(case.case_id), time=time, event_id=event_id)
    outbox.add_event(session, OutboxEvent, topic, str(case.case_id), event, now)


def _event_id(case: Case, kind: str) -> str:
    return str(uuid.uuid5(case.case_id, kind))


OPEN_ATTEMPTS = 3  # a case opened by another writer meanwhile is read and joined (the family's lock makes it rare)


def on_trigger(session: Session, trigger: Trigger, rules: Rules, now: datetime) -> tuple[TriggerOutcome, Case]:
    """Open the family's case, attach to its open one, or (a redelivery) do nothing."""
    family_id = family_locks.hold_one(session, trigger.family_id)
    if family_id != trigger.family_id:  # published before its family was found to be part of another
        trigger = replace(trigger, family_id=family_id)
    for _ in range(OPEN_ATTEMPTS):
        result = apply_trigger(store.family_cases(session, trigger.family_id, lock=True), trigger, opened_at=now,
                               policy=rules.target, bank_holidays=rules.bank_holidays)
        case = result.case
        if result.outcome is TriggerOutcome.DUPLICATE:
            return result.outcome, case
        if result.outcome is TriggerOutcome.ATTACHED:
            store.save_case(session, case)
            store.add_timeline(session, case.case_id, now, "trigger_attached", source=trigger.source.value)
            return result.outcome, case
        if store.insert_case(session, case):
            _emit(session, rules, ALLOCATION_CASE_OPENED.name, case, outgoing.case_opened(case), case.started_at,
                  now, _event_id(case, "opened"))
            store.add_timeline(session, case.case_id, now, "opened", source=trigger.source.value,
                               started_at=case.started_at.isoformat(), due_at=case.due_at.isoformat())
            return result.outcome, case
    raise store.StaleCase(str(trigger.case_id))


def _change(session: Session, case_id: uuid.UUID, move: Callable[[Case], Case]) -> tuple[Case, Case]:
    before = store.get_case(session, case_id, lock=True)
    if before is None:
        raise CaseNotFound(str(case_id))
    after = move(before)
    store.save_case(session, after)
    return before, after


def allocate(session: Session, case_id: uuid.UUID, rules: Rules, allocated_at: datetime, *, lead_agency_id: str,
             agency_kind: AgencyKind, lead_professional_ref: str, allocated_by: str, at_meeting: bool,
             now: datetime | None = None) -> Case:
    """The allocation at `allocated_at` (its event's time), recorded at `now` (default: the same)."""
    now = now or allocated_at
    _, case = _change(session, case_id, lambda c: c.allocate(
        lead_agency_id=lead_agency_id, agency_kind=agency_kind, lead_professional_ref=lead_professional_ref,
        allocated_by=allocated_by, allocated_at=allocated_at, at_meeting=at_meeting))
    _emit(session, rules, ALLOCATION_CASE_ALLOCATED.name, case, outgoing.case_allocated(case), allocated_at, now,
          _event_id(case, "allocated"))
    store.add_timeline(session, case_id, now, "allocated", lead_agency_id=lead_agency_id,
                       agency_kind=agency_kind.value, at_meeting=at_meeting, by=allocated_by)
    return case


def record_offer(session: Session, case_id: uuid.UUID, rules: Rules, offered_at: datetime, now: datetime,
                 recorded_by: str = "") -> Case:
    _, case = _change(session, case_id, lambda c: c.record_offer(offered_at))
    made = outgoing.offer_made(case, rules.bank_holidays)
    _emit(session, rules, ALLOCATION_OFFER_MADE.name, case, made, offered_at, now, _event_id(case, "offer-made"))
    store.add_timeline(session, case_id, now, "offer_made", days_taken=made.days_taken,
                       within_target=made.within_target, by=recorded_by)
    return case


def record_answer(session: Session, case_id: uuid.UUID, rules: Rules, answer: OfferAnswer, answered_at: datetime,
                  now: datetime, recorded_by: str = "") -> Case:
    _, case = _change(session, case_id, lambda c: c.record_answer(answer, answered_at))
    _emit(session, rules, ALLOCATION_OFFER_ANSWERED.name, case, outgoing.offer_answered(case), answered_at, now,
          _event_id(case, "offer-answered"))
    store.add_timeline(session, case_id, now, "offer_answered", answer=answer.value, by=recorded_by)
    return case


def step_up(session: Session, case_id: uuid.UUID, rules: Rules, recorded_by: str, stepped_up_at: datetime,
            now: datetime | None = None) -> Case:
    """The step up at `stepped_up_at` (its event's time), recorded at `now` (default: the same)."""
    now = now or stepped_up_at
    before, case = _change(session, case_id, lambda c: c.step_up(stepped_up_at))
    _emit(session, rules, ALLOCATION_STEPPED_UP.name, case, outgoing.stepped_up(case, before.status, recorded_by),
          stepped_up_at, now, _event_id(case, "stepped-up"))
    store.add_timeline(session, case_id, now, "stepped_up", by=recorded_by)
    return case


def close(session: Session, case_id: uuid.UUID, rules: Rules, outcome: ClosureOutcome, closed_at: datetime,
          now: datetime, closed_by: str) -> Case:
    before, case = _change(session, case_id, lambda c: c.close(outcome, closed_at=closed_at, closed_by=closed_by))
    _emit(session, rules, ALLOCATION_CASE_CLOSED.name, case, outgoing.case_closed(case), closed_at, now,
          _event_id(case, "closed"))
    store.add_timeline(session, case_id, now, "closed", outcome=outcome.value, status_before=before.status.value,
                       closed_at=closed_at.isoformat(), by=closed_by)
    return case


def sla_sweep(session: Session, rules: Rules, now: datetime) -> list[tuple[uuid.UUID, SlaEvent]]:
    """Emit every due-soon / overdue event owed at `now` and not yet emitted,
    from stored state: after downtime this catches up, each exactly once."""
    emitted: list[tuple[uuid.UUID, SlaEvent]] = []
    horizon = now + rules.sla.due_soon_lead + timedelta(seconds=1)
    for case in store.cases_awaiting_offer_due_by(session, horizon, lock=True):  # another sweep's: skipped
        for kind in case.sla_owed(now, rules.sla):
            _emit(session, rules, SLA_TOPICS[kind], case, outgoing.sla_event(case, kind), now, now,
                  sla_event_id(case.case_id, kind))
            store.add_timeline(session, case.case_id, now, kind.value.replace("-", "_"))
            case = case.mark_sla_emitted(kind)
            emitted.append((case.case_id, kind))
            store.save_case(session, case)
    return emitted


def on_families_merged(session: Session, family_id: uuid.UUID, merged: Sequence[uuid.UUID], now: datetime) -> int:
    """The merged families' cases become `family_id`'s, and its open cases one
    (the earliest keeps the clock). Returns how many cases changed (0 on a redelivery)."""
    now_part_of = family_locks.hold(session, [family_id, *merged])
    family_id = now_part_of[family_id]  # the remaining family may itself have been merged since
    merged = [now_part_of[f] for f in merged]
    store.add_family_aliases(session, family_id, merged, now)
    families = [family_id, *(f for f in merged if f != family_id)]
    before = [case for family in families for case in store.family_cases(session, family, lock=True)]
    after = merge_family_cases(before, family_id, set(merged))
    changes = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    # The cases that close first: one open case per family holds after every statement, not only at commit.
    for old, new in sorted(changes, key=lambda change: change[1].is_open):
        store.save_case(session, new)
        if new.merged_into is not None and old.merged_into is None:
            store.add_timeline(session, new.case_id, now, "merged_into", into_case_id=str(new.merged_into))
        elif old.family_id != new.family_id:
            store.add_timeline(session, new.case_id, now, "family_merged", family_id=str(family_id))
        if len(new.triggers) > len(old.triggers):
            store.add_timeline(session, new.case_id, now, "case_joined", triggers=len(new.triggers) - len(old.triggers))
    return len(changes)
