"""Families found to be one: their cases (pure rules)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from allocation.domain.cases import Case
from allocation.domain.merges import merge_family_cases
from allocation.domain.triggers import Trigger
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, CaseStatus, Concern, LevelOfNeed

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
