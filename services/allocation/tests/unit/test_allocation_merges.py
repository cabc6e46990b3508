"""Families found to be one: their cases (pure rules)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from allocation.domain.cases import Case
from allocation.domain.families import merge_family_cases
from allocation.domain.triggers import Trigger
from frontdoor_contracts.vocabulary import (
    AgencyKind,
    CaseSource,
    CaseStatus,
    ClosureOutcome,
    Concern,
    LevelOfNeed,
    OfferAnswer,
)

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEPT, JOINED = uuid.uuid4(), uuid.uuid4()


def case(family: uuid.UUID, started: datetime, event_id: str, level: int = 2, concern: Concern = Concern.NEGLECT
         ) -> Case:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=event_id,
                      family_id=family, occurred_at=started, child_ids=(uuid.uuid4(),),
                      level_of_need=LevelOfNeed(level), concerns=(concern,))
    return Case.open(trigger, opened_at=started)


def test_the_earlier_case_keeps_the_clock_and_takes_the_other_in() -> None:
    earlier = case(JOINED, START, "e1", level=2)
    later = case(KEPT, START + timedelta(days=3), "e2", level=3, concern=Concern.DOMESTIC_ABUSE)
    kept, closed = merge_family_cases([later, earlier], KEPT, {JOINED})[::-1]
    assert kept.case_id == earlier.case_id and kept.family_id == KEPT
    assert kept.started_at == earlier.started_at and kept.due_at == earlier.due_at  # the earlier start's clock
    assert set(kept.child_ids) == set(earlier.child_ids) | set(later.child_ids)
    assert kept.level_of_need == LevelOfNeed(3) and set(kept.concerns) == {Concern.NEGLECT, Concern.DOMESTIC_ABUSE}
    assert all(t.family_id == KEPT for t in kept.triggers) and len(kept.triggers) == 2
    assert closed.status is CaseStatus.MERGED and closed.merged_into == earlier.case_id and not closed.is_open


def test_applying_the_merge_again_changes_nothing() -> None:
    once = merge_family_cases([case(KEPT, START, "a"), case(JOINED, START + timedelta(hours=1), "b")], KEPT,
                              {JOINED})
    assert merge_family_cases(once, KEPT, {JOINED}) == once


def test_one_open_case_only_moves_family_and_closed_cases_follow_unchanged() -> None:
    closed = case(JOINED, START - timedelta(days=40), "old").step_up(START - timedelta(days=30))
    allocated = case(KEPT, START, "now").allocate(lead_agency_id="vs-1", agency_kind=AgencyKind.VOLUNTARY_SECTOR,
                                                  lead_professional_ref="s-1", allocated_by="c", allocated_at=START,
                                                  at_meeting=False)
    after = merge_family_cases([allocated, closed], KEPT, {JOINED})
    assert after[0] == allocated  # already the family's, still its only open case
    assert after[1].family_id == KEPT and after[1].status is CaseStatus.STEPPED_UP


def accepted(family: uuid.UUID, started: datetime, event_id: str) -> Case:
    return (case(family, started, event_id)
            .allocate(lead_agency_id="hv-3", agency_kind=AgencyKind.HEALTH_VISITING, lead_professional_ref="hv-17",
                      allocated_by="c", allocated_at=started + timedelta(days=2), at_meeting=True)
            .record_offer(started + timedelta(days=3))
            .record_answer(OfferAnswer.ACCEPTED, started + timedelta(days=4)))


def test_a_case_under_way_keeps_the_family_even_when_the_other_started_first() -> None:
    waiting = case(JOINED, START - timedelta(days=3), "waiting")
    worked = accepted(KEPT, START, "worked")
    kept, joined = merge_family_cases([worked, waiting], KEPT, {JOINED})
    assert kept.case_id == worked.case_id and kept.status is CaseStatus.ACCEPTED
    assert kept.allocation == worked.allocation and len(kept.triggers) == 2
    assert set(kept.child_ids) == set(worked.child_ids) | set(waiting.child_ids)
    assert joined.status is CaseStatus.MERGED and joined.merged_into == worked.case_id


def test_of_two_cases_under_way_the_earlier_keeps_the_family() -> None:
    first, second = accepted(JOINED, START, "first"), accepted(KEPT, START + timedelta(days=1), "second")
    kept, joined = merge_family_cases([first, second], KEPT, {JOINED})
    assert kept.case_id == first.case_id and kept.status is CaseStatus.ACCEPTED and kept.family_id == KEPT
    assert joined.status is CaseStatus.MERGED and joined.merged_into == first.case_id


def test_a_closed_case_only_moves_family() -> None:
    closed = accepted(JOINED, START - timedelta(days=90), "old").close(
        ClosureOutcome.POSITIVE_OUTCOME, closed_at=START - timedelta(days=20), closed_by="hv-17")
    now = case(KEPT, START, "now")
    moved, still = merge_family_cases([closed, now], KEPT, {JOINED})
    assert still == now and moved.family_id == KEPT
    assert moved.status is CaseStatus.CLOSED and moved.closure == closed.closure
