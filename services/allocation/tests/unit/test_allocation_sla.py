"""offer-due-soon and offer-overdue: each owed exactly once per case waiting for an offer,
whenever the service happens to look, including after it was down when they fell due."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from allocation.domain.sla import (
    DEFAULT_SLA,
    SlaEvent,
    SlaPolicy,
    fires_at,
    owed_sla_events,
    sla_event_id,
)

DUE = datetime(2027, 1, 7, 0, 0, tzinfo=UTC)  # end of Wednesday 6 January 2027
SOON = DUE - timedelta(days=2)
DUE_SOON, OVERDUE = SlaEvent.DUE_SOON, SlaEvent.OVERDUE


def owed(now: datetime, emitted: frozenset[SlaEvent] = frozenset(), awaiting: bool = True) -> tuple[SlaEvent, ...]:
    return owed_sla_events(DUE, now, awaiting_offer=awaiting, emitted=emitted)


def test_the_default_lead_is_two_days() -> None:
    assert DEFAULT_SLA.due_soon_lead == timedelta(days=2)
    assert fires_at(DUE_SOON, DUE) == SOON and fires_at(OVERDUE, DUE) == DUE


def test_nothing_is_owed_before_the_lead() -> None:
    assert owed(SOON - timedelta(microseconds=1)) == ()


def test_due_soon_is_owed_from_the_lead_and_then_done() -> None:
    assert owed(SOON) == (DUE_SOON,)
    assert owed(DUE - timedelta(microseconds=1), frozenset({DUE_SOON})) == ()


def test_overdue_is_owed_at_the_due_instant() -> None:
    assert owed(DUE, frozenset({DUE_SOON})) == (OVERDUE,)
    assert owed(DUE + timedelta(days=30), frozenset({DUE_SOON, OVERDUE})) == ()


def test_after_downtime_both_are_owed_due_soon_first() -> None:
    assert owed(DUE + timedelta(days=3)) == (DUE_SOON, OVERDUE)


def test_a_case_with_an_offer_or_stepped_up_owes_nothing() -> None:
    assert owed(DUE + timedelta(days=3), awaiting=False) == ()


def test_an_offer_after_due_soon_prevents_overdue() -> None:
    assert owed(SOON + timedelta(hours=1)) == (DUE_SOON,)
    assert owed(DUE + timedelta(hours=1), frozenset({DUE_SOON}), awaiting=False) == ()


def test_the_lead_is_configuration() -> None:
    policy = SlaPolicy(due_soon_lead=timedelta(hours=12))
    assert owed_sla_events(DUE, SOON, awaiting_offer=True, policy=policy) == ()
    assert owed_sla_events(DUE, DUE - timedelta(hours=12), awaiting_offer=True, policy=policy) == (DUE_SOON,)
    zero = SlaPolicy(due_soon_lead=timedelta(0))
    assert owed_sla_events(DUE, DUE, awaiting_offer=True, policy=zero) == (DUE_SOON, OVERDUE)
    with pytest.raises(ValueError):
        SlaPolicy(due_soon_lead=timedelta(hours=-1))


def test_event_ids_are_stable_per_case_and_kind() -> None:
    case = uuid.UUID("70a00be5-9ba6-5022-95c6-c265d8882730")
    assert sla_event_id(case, DUE_SOON) == sla_event_id(case, DUE_SOON)
    assert sla_event_id(case, DUE_SOON) != sla_event_id(case, OVERDUE)
    assert sla_event_id(case, OVERDUE) != sla_event_id(uuid.uuid4(), OVERDUE)
    assert uuid.UUID(sla_event_id(case, OVERDUE)).version == 5


def ticks(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    while start <= end:
        yield start
        start += step


@pytest.mark.parametrize(
    "down",
    [
        (),  # never down
        ((SOON - timedelta(hours=5), SOON + timedelta(hours=5)),),  # down when due-soon fell due
        ((DUE - timedelta(hours=1), DUE + timedelta(hours=30)),),  # down when overdue fell due
        ((SOON - timedelta(days=1), DUE + timedelta(days=2)),),  # down across both
        ((SOON - timedelta(hours=1), SOON + timedelta(hours=1)), (DUE - timedelta(hours=1), DUE + timedelta(hours=9))),
    ],
    ids=["up", "down-at-due-soon", "down-at-overdue", "down-across-both", "down-twice"],
)
def test_each_event_is_emitted_exactly_once_whatever_the_downtime(down: tuple[tuple[datetime, datetime], ...]) -> None:
    """A service that looks every 7 minutes while up, restarts with only its stored state (the emitted set)."""
    stored: frozenset[SlaEvent] = frozenset()
    published: list[tuple[SlaEvent, datetime]] = []
    for now in ticks(DUE - timedelta(days=5), DUE + timedelta(days=5), timedelta(minutes=7)):
        if any(start <= now < end for start, end in down):
            continue
        for kind in owed_sla_events(DUE, now, awaiting_offer=True, emitted=stored):
            published.append((kind, now))
            stored = stored | {kind}  # durable with the publish
    assert [kind for kind, _ in published] == [DUE_SOON, OVERDUE]
    for kind, at in published:
        assert at >= fires_at(kind, DUE)
        late_by = at - fires_at(kind, DUE)
        missed = [end - start for start, end in down if start <= fires_at(kind, DUE) < end]
        assert late_by <= (missed[0] if missed else timedelta(0)) + timedelta(minutes=7)
