"""A family's picture keeps its latest history in order, trimmed in place,
and a plan with nothing left to say (achieved, and its claim made) is not
evaluated again (both found by profiling the rebuild)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from outcomes.domain import outputs
from outcomes.domain.family import HISTORY_KEPT, Family, Plan
from outcomes.domain.thresholds import Thresholds

DAY = date(2026, 1, 5)


def test_the_history_keeps_the_latest_events_in_the_order_seen() -> None:
    family = Family(family_id=uuid.uuid4())
    history = family.history
    for n in range(HISTORY_KEPT + 7):
        family.saw(f"event-{n}", "recorded", datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=n), DAY)
    assert [h.event_id for h in family.history] == [f"event-{n}" for n in range(7, HISTORY_KEPT + 7)]
    assert family.history is history  # trimmed in place, never copied
    assert len(family.seen) == HISTORY_KEPT + 7
    assert family.last_event_at == datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=HISTORY_KEPT + 6)


def plan(achieved: bool, claimed: bool) -> Plan:
    return Plan(case_id=uuid.uuid4(), starts_on=DAY, achieved_on=DAY + timedelta(days=200) if achieved else None,
                claim_basis="sustained_progress" if claimed else None)


@pytest.mark.parametrize(("achieved", "claimed", "evaluated"),
                         [(True, True, False), (True, False, True), (False, True, True), (False, False, True)])
def test_a_plan_is_evaluated_while_it_may_still_say_something(achieved: bool, claimed: bool, evaluated: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def evaluate(*args: Any) -> Any:
        calls.append(args)
        raise LookupError("evaluated")

    monkeypatch.setattr(outputs, "evaluate", evaluate)
    family = Family(family_id=uuid.uuid4(), plans=[plan(achieved, claimed)])
    if evaluated:
        with pytest.raises(LookupError):
            outputs.plan_outputs(family, DAY + timedelta(days=400), Thresholds())
    else:
        assert outputs.plan_outputs(family, DAY + timedelta(days=400), Thresholds()) == []
    assert len(calls) == (1 if evaluated else 0)
