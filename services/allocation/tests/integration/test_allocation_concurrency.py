"""Several workers on PostgreSQL: two transactions apply two records for one family at the same moment,
through the real handlers, each in its own session, meeting at the race point (the handler's read of the
family's cases, `allocation_race_kit.RacePoint`). The database keeps them apart: one case per family trigger,
a merge applied once, each event once; neither fails (a failure here would send a good record to the kit's
retries, and, failing twice, to the dead letters)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from allocation_race_kit import RacePoint, at_once, failures, patched
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from allocation import handlers, store
from allocation.domain.calendar import DEFAULT_TARGET, england_and_wales_bank_holidays
from allocation.domain.families import TriggerOutcome
from allocation.domain.sla import DEFAULT_SLA
from allocation.domain.triggers import NfaReviewPolicy, Trigger
from allocation.models import CaseRow, OutboxEvent, TimelineEntry
from frontdoor_contracts.vocabulary import CaseSource, Decision, HeadlineProblem, LevelOfNeed
from frontdoor_platform.database import for_writing

RULES = handlers.Rules(DEFAULT_TARGET, england_and_wales_bank_holidays(), DEFAULT_SLA, NfaReviewPolicy(),
                       "urn:frontdoor:allocation")
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def decision(family: uuid.UUID, minutes: int = 0) -> Trigger:
    return Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:frontdoor:contacts",
                   event_id=str(uuid.uuid4()), family_id=family, occurred_at=AT + timedelta(minutes=minutes),
                   child_ids=(uuid.uuid4(),), contact_id=uuid.uuid4(), decision=Decision.EARLY_HELP,
                   level_of_need=LevelOfNeed.TARGETED)


def step_down(family: uuid.UUID, minutes: int = 0) -> Trigger:
    return Trigger(source=CaseSource.STEP_DOWN, event_source="urn:frontdoor:case-systems",
                   event_id=str(uuid.uuid4()), family_id=family, occurred_at=AT + timedelta(minutes=minutes),
                   child_ids=(uuid.uuid4(),), level_of_need=LevelOfNeed.SPECIALIST)


def identified(family: uuid.UUID, minutes: int = 0) -> Trigger:
    return Trigger(source=CaseSource.IDENTIFIED_IN_DATA, event_source="urn:frontdoor:outcomes",
                   event_id=str(uuid.uuid4()), family_id=family, occurred_at=AT + timedelta(minutes=minutes),
                   child_ids=(uuid.uuid4(),), headline_problems=(HeadlineProblem.SCHOOL_ATTENDANCE,))


def in_transaction(engine: Engine, action: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """`action(session, *args)` in a session of its own, committed."""
    def work() -> Any:
        with Session(for_writing(engine)) as session:
            result = action(session, *args)
            session.commit()
        return result

    return work


def cases_of(engine: Engine, *families: uuid.UUID) -> list[CaseRow]:
    with Session(engine) as session:
        return list(session.exec(select(CaseRow).where(col(CaseRow.family_id).in_(families))).all())


def outbox_topics(engine: Engine, case_ids: list[uuid.UUID]) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.key).in_([str(c) for c in case_ids]))).all()
        return sorted(row.topic for row in rows)


def timeline_kinds(engine: Engine, case_ids: list[uuid.UUID]) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(TimelineEntry).where(col(TimelineEntry.case_id).in_(case_ids))).all()
        return sorted(row.kind for row in rows)


def race(engine: Engine, *work: Callable[[Session], Any], read: str = "family_cases") -> list[Any]:
    """Each `work(session)` in its own transaction and thread, meeting after their first `store.<read>`."""
    point = RacePoint(engine, parties=len(work))
    with patched(store, read, point):
        results = at_once(point, *(in_transaction(engine, w) for w in work))
    assert point.raced or point.held  # they met: both read before either wrote, or the database held one
    return results


def on_trigger(trigger: Trigger) -> Callable[[Session], Any]:
    return lambda session: handlers.on_trigger(session, trigger, RULES, AT + timedelta(hours=1))


def merge(family: uuid.UUID, *merged: uuid.UUID) -> Callable[[Session], Any]:
    return lambda session: handlers.on_families_merged(session, family, list(merged), AT + timedelta(hours=2))


TRIGGER_PAIRS = {
    "two decisions, two children": (decision, decision),
    "a decision and a step-down": (decision, step_down),
    "family identified and a decision": (identified, decision),
}


@pytest.mark.parametrize("pair", TRIGGER_PAIRS.values(), ids=TRIGGER_PAIRS.keys())
def test_two_triggers_for_a_family_without_a_case_at_once_open_one_case(
        pg_engine: Engine, pair: tuple[Callable[..., Trigger], Callable[..., Trigger]]) -> None:
    family = uuid.uuid4()
    first, second = pair[0](family), pair[1](family, minutes=1)
    results = race(pg_engine, on_trigger(first), on_trigger(second))
    assert failures(results) == []
    assert sorted(outcome.value for outcome, _ in results) == ["attached", "opened"]
    rows = cases_of(pg_engine, family)
    assert len(rows) == 1 and rows[0].is_open
    case = store.load_case(rows[0].document)
    assert {t.event_id for t in case.triggers} == {first.event_id, second.event_id}
    assert outbox_topics(pg_engine, [case.case_id]) == ["allocation.case-opened.v1"]
    assert timeline_kinds(pg_engine, [case.case_id]) == ["opened", "trigger_attached"]


def test_one_trigger_read_by_two_workers_at_once_opens_one_case_once(pg_engine: Engine) -> None:
    """A partition moved by a rebalance: the new owner reads a record the old one is still applying."""
    family = uuid.uuid4()
    once = decision(family)
    results = race(pg_engine, on_trigger(once), on_trigger(once))
    assert failures(results) == []
    assert sorted(outcome.value for outcome, _ in results) == ["duplicate", "opened"]
    rows = cases_of(pg_engine, family)
    assert [row.case_id for row in rows] == [once.case_id]
    assert outbox_topics(pg_engine, [once.case_id]) == ["allocation.case-opened.v1"]
    assert timeline_kinds(pg_engine, [once.case_id]) == ["opened"]


def test_two_triggers_joining_an_open_case_at_once_both_join(pg_engine: Engine) -> None:
    family = uuid.uuid4()
    opening = decision(family)
    in_transaction(pg_engine, on_trigger(opening))()
    first, second = step_down(family, 5), identified(family, 6)
    results = race(pg_engine, on_trigger(first), on_trigger(second))
    assert failures(results) == []
    assert [outcome for outcome, _ in results] == [TriggerOutcome.ATTACHED, TriggerOutcome.ATTACHED]
    rows = cases_of(pg_engine, family)
    assert len(rows) == 1
    case = store.load_case(rows[0].document)
    assert {t.event_id for t in case.triggers} == {opening.event_id, first.event_id, second.event_id}
    assert case.level_of_need is LevelOfNeed.SPECIALIST  # the step-down's level raised it: no update lost
    assert timeline_kinds(pg_engine, [case.case_id]) == ["opened", "trigger_attached", "trigger_attached"]


def test_a_merge_and_a_trigger_for_the_merged_family_at_once_leave_one_open_case(pg_engine: Engine) -> None:
    """The family merged away has no case yet: the trigger naming it joins the remaining family's case,
    whichever goes first."""
    kept, joined = uuid.uuid4(), uuid.uuid4()
    opening = decision(kept)
    in_transaction(pg_engine, on_trigger(opening))()
    late = decision(joined, 3)
    results = race(pg_engine, merge(kept, joined), on_trigger(late))
    assert failures(results) == []
    rows = cases_of(pg_engine, kept, joined)
    assert [row.family_id for row in rows if row.is_open] == [kept]
    case = store.load_case(next(row.document for row in rows if row.is_open))
    assert {t.event_id for t in case.triggers} == {opening.event_id, late.event_id}


def test_a_merge_and_a_trigger_for_the_remaining_family_at_once_lose_nothing(pg_engine: Engine) -> None:
    """Both families have an open case; the merge joins them while a trigger joins one of them."""
    kept, joined = uuid.uuid4(), uuid.uuid4()
    earlier, later = decision(joined, 0), decision(kept, 60)
    in_transaction(pg_engine, on_trigger(earlier))()
    in_transaction(pg_engine, on_trigger(later))()
    arriving = step_down(kept, 90)
    results = race(pg_engine, merge(kept, joined), on_trigger(arriving))
    assert failures(results) == []
    rows = cases_of(pg_engine, kept, joined)
    assert {row.family_id for row in rows} == {kept}
    open_rows = [row for row in rows if row.is_open]
    assert [row.case_id for row in open_rows] == [earlier.case_id]  # the earlier start keeps the clock
    case = store.load_case(open_rows[0].document)
    assert {t.event_id for t in case.triggers} == {earlier.event_id, later.event_id, arriving.event_id}


def test_one_merge_read_by_two_workers_at_once_is_applied_once(pg_engine: Engine) -> None:
    kept, joined = uuid.uuid4(), uuid.uuid4()
    in_transaction(pg_engine, on_trigger(decision(joined, 0)))()
    in_transaction(pg_engine, on_trigger(decision(kept, 60)))()
    results = race(pg_engine, merge(kept, joined), merge(kept, joined))
    assert failures(results) == []
    assert sorted(results) == [0, 2]  # two cases changed by one of them, nothing by the other
    rows = cases_of(pg_engine, kept, joined)
    assert sorted(row.status for row in rows) == ["merged", "open"]
    kinds = timeline_kinds(pg_engine, [row.case_id for row in rows])
    assert (kinds.count("family_merged"), kinds.count("merged_into"), kinds.count("case_joined")) == (1, 1, 1)


def test_two_merges_of_a_chain_at_once_leave_every_case_with_the_last_family(pg_engine: Engine) -> None:
    """One merge makes `middle` part of `top` while another makes `bottom` part of `middle`."""
    top, middle, bottom = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for minutes, family in enumerate((bottom, middle, top)):
        in_transaction(pg_engine, on_trigger(decision(family, minutes)))()
    results = race(pg_engine, merge(top, middle), merge(middle, bottom))
    assert failures(results) == []
    rows = cases_of(pg_engine, top, middle, bottom)
    assert {row.family_id for row in rows} == {top} and len(rows) == 3
    assert sum(row.is_open for row in rows) == 1


def test_two_sla_sweeps_at_once_emit_each_warning_once(pg_engine: Engine) -> None:
    """Every worker runs the SLA timer: two sweeps meet on the same cases."""
    triggers = [decision(uuid.uuid4(), minutes) for minutes in range(3)]
    for trigger in triggers:
        in_transaction(pg_engine, on_trigger(trigger))()
    later = AT + timedelta(days=30)
    results = race(pg_engine, *(lambda s: handlers.sla_sweep(s, RULES, later) for _ in range(2)),
                   read="cases_awaiting_offer_due_by")
    assert failures(results) == []
    assert sorted(kind.value for result in results for _, kind in result) == ["offer-due-soon"] * 3 + [
        "offer-overdue"] * 3
    topics = outbox_topics(pg_engine, [t.case_id for t in triggers])
    assert topics.count("allocation.offer-due-soon.v1") == 3 and topics.count("allocation.offer-overdue.v1") == 3
