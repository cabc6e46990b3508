"""The case state machine (closure with an outcome category included), one open case per family, and days
waiting / left / taken."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from allocation.domain.calendar import LONDON, TargetPolicy
from allocation.domain.cases import Case
from allocation.domain.families import TriggerOutcome, apply_trigger
from allocation.domain.sla import SlaEvent
from allocation.domain.transitions import IllegalTransition
from allocation.domain.triggers import Trigger
from frontdoor_contracts.allocation import case_id_for
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

FAMILY = uuid.UUID("8c0d3b52-4e61-4f7a-9d1e-3a6b2c5f7e90")
CHILD_A = uuid.UUID("b3a1e6f0-7c42-4d1b-8e5a-0f9d2c6b4a71")
CHILD_B = uuid.UUID("d4e2f7a1-8b53-4e2c-9f6b-1a0e3d7c5b82")
FRIDAY_EVENING = datetime(2026, 12, 18, 18, 30, tzinfo=LONDON)
WORKING = TargetPolicy(10, TargetCalendar.WORKING_DAYS)
CALENDAR = TargetPolicy(10, TargetCalendar.CALENDAR_DAYS)


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def trigger(
    event_id: str = "decision-1",
    at: datetime = FRIDAY_EVENING,
    source: CaseSource = CaseSource.EARLY_HELP_DECISION,
    family: uuid.UUID = FAMILY,
    **more: object,
) -> Trigger:
    fields: dict[str, object] = {"child_ids": (CHILD_A,), "level_of_need": LevelOfNeed.TARGETED,
                                 "concerns": (Concern.NEGLECT,), **more}
    return Trigger(source=source, event_source="urn:frontdoor:contacts", event_id=event_id, family_id=family,
                   occurred_at=at, **fields)  # type: ignore[arg-type]


def opened(policy: TargetPolicy = CALENDAR) -> Case:
    return Case.open(trigger(), opened_at=FRIDAY_EVENING + timedelta(seconds=2), policy=policy)


def allocate(case: Case, at: datetime | None = None) -> Case:
    at = at or london(2026, 12, 22, 10, 0)
    return case.allocate(lead_agency_id="school-100023", agency_kind=AgencyKind.SCHOOL,
                         lead_professional_ref="STAFF-20931", allocated_by="EHC-0007", allocated_at=at, at_meeting=True)


def offered(at: datetime | None = None) -> Case:
    return allocate(opened()).record_offer(at or london(2026, 12, 23, 15, 0))


def test_a_new_case_starts_at_the_decision_time_with_its_target() -> None:
    case = opened()
    assert case.case_id == case_id_for("urn:frontdoor:contacts", "decision-1")
    assert case.status is CaseStatus.OPEN and case.is_open and case.awaiting_allocation and case.awaiting_offer
    assert case.started_at == FRIDAY_EVENING and case.started_at.tzinfo is UTC
    assert case.due_date.isoformat() == "2026-12-28" and case.target_days == 10
    assert case.source is CaseSource.EARLY_HELP_DECISION


def test_the_happy_path_open_allocated_offer_accepted() -> None:
    case = offered()
    assert case.status is CaseStatus.OFFER_MADE and not case.awaiting_offer and case.is_open
    assert case.allocation is not None and case.allocation.agency_kind is AgencyKind.SCHOOL
    assert case.days_taken() == 5 and case.within_target
    done = case.record_answer(OfferAnswer.ACCEPTED, london(2026, 12, 24, 9, 0))
    assert done.status is CaseStatus.ACCEPTED and done.answer is OfferAnswer.ACCEPTED
    assert done.is_open and not done.awaiting_offer  # being worked with until the lead agency closes it


def test_a_family_may_decline() -> None:
    done = offered().record_answer(OfferAnswer.DECLINED, london(2026, 12, 24, 9, 0))
    assert done.status is CaseStatus.DECLINED and not done.is_open


def test_days_taken_in_working_days_over_christmas() -> None:
    case = allocate(opened(WORKING)).record_offer(london(2026, 12, 29, 11, 0))
    assert case.days_taken() == 5  # Mon 21 - Thu 24, Tue 29
    assert case.due_date.isoformat() == "2027-01-06" and case.within_target


def test_an_offer_after_the_due_date_is_outside_target() -> None:
    case = allocate(opened()).record_offer(london(2026, 12, 29, 0, 0))
    assert case.within_target is False and case.days_taken() == 11
    assert opened().within_target is None and opened().days_taken() is None


@pytest.mark.parametrize("make", [opened, lambda: allocate(opened()), offered], ids=["open", "allocated", "offered"])
def test_step_up_from_any_open_status(make: Callable[[], Case]) -> None:
    case = make()
    up = case.step_up(london(2026, 12, 24, 12, 0))
    assert up.status is CaseStatus.STEPPED_UP and not up.is_open and up.sla_owed(london(2027, 2, 1, 0, 0)) == ()


def accepted() -> Case:
    return offered().record_answer(OfferAnswer.ACCEPTED, london(2026, 12, 24, 9, 0))


def declined() -> Case:
    return offered().record_answer(OfferAnswer.DECLINED, london(2026, 12, 24, 9, 0))


def closed(outcome: ClosureOutcome = ClosureOutcome.POSITIVE_OUTCOME, case: Case | None = None,
           at: datetime | None = None) -> Case:
    return (case or accepted()).close(outcome, closed_at=at or london(2027, 3, 1, 16, 0), closed_by="hv-17")


def closed_cases() -> list[Case]:
    """Every way a case stops being open."""
    return [
        declined(),
        opened().step_up(london(2026, 12, 24, 12, 0)),
        closed(),
        closed(ClosureOutcome.NO_CHANGE, declined()),
        opened().merged_into_case(uuid.uuid4()),
    ]


CLOSED_IDS = ["declined", "stepped_up", "closed", "closed_after_declining", "merged"]


@pytest.mark.parametrize(
    ("make", "move", "message"),
    [
        (opened, lambda c: c.record_offer(london(2026, 12, 23, 9, 0)),
         "cannot record an offer on case .*: it is open, and that is allowed only when allocated"),
        (opened, lambda c: c.record_answer(OfferAnswer.ACCEPTED, london(2026, 12, 23, 9, 0)),
         "cannot record an answer on case .*: it is open, and that is allowed only when offer_made"),
        (lambda: allocate(opened()), allocate, "cannot allocate case .*: it is allocated, .* only when open"),
        (lambda: allocate(opened()), lambda c: c.record_answer(OfferAnswer.DECLINED, london(2026, 12, 23, 9, 0)),
         "it is allocated, and that is allowed only when offer_made"),
        (offered, lambda c: c.record_offer(london(2026, 12, 24, 9, 0)), "it is offer_made, .* only when allocated"),
        (offered, allocate, "cannot allocate case .*: it is offer_made"),
    ],
)
def test_illegal_transitions_raise_a_clear_error(
    make: Callable[[], Case], move: Callable[[Case], Case], message: str
) -> None:
    case = make()
    with pytest.raises(IllegalTransition, match=message) as caught:
        move(case)
    assert caught.value.case_id == case.case_id and caught.value.status is case.status


@pytest.mark.parametrize("index", range(len(CLOSED_IDS)), ids=CLOSED_IDS)
def test_a_closed_case_refuses_every_move(index: int) -> None:
    case = closed_cases()[index]
    assert not case.is_open and not case.awaiting_offer
    later = london(2027, 4, 5, 9, 0)
    moves: list[Callable[[], object]] = [
        lambda: allocate(case, later), lambda: case.record_offer(later),
        lambda: case.record_answer(OfferAnswer.ACCEPTED, later), lambda: case.step_up(later),
        lambda: case.attach(trigger("decision-2", later)), lambda: case.merged_into_case(uuid.uuid4()),
    ]
    if case.status is not CaseStatus.DECLINED:  # a declined case may still be closed
        moves.append(lambda: case.close(ClosureOutcome.NO_CHANGE, closed_at=later, closed_by="hv-17"))
    for move in moves:
        with pytest.raises(IllegalTransition, match=f"it is {case.status.value}"):
            move()


def test_step_up_error_lists_every_status_it_is_allowed_from() -> None:
    with pytest.raises(IllegalTransition, match="only when open or allocated or offer_made"):
        closed_cases()[0].step_up(london(2027, 1, 5, 9, 0))


def test_times_must_be_aware_and_in_order() -> None:
    with pytest.raises(ValueError, match="time zone"):
        allocate(opened(), datetime(2026, 12, 22, 10, 0))
    with pytest.raises(ValueError, match="before the case started"):
        allocate(opened(), london(2026, 12, 18, 9, 0))
    with pytest.raises(ValueError, match="before the allocation"):
        allocate(opened()).record_offer(london(2026, 12, 21, 9, 0))
    with pytest.raises(ValueError, match="before the offer"):
        offered().record_answer(OfferAnswer.ACCEPTED, london(2026, 12, 23, 9, 0))


def test_days_waiting_and_left() -> None:
    case = opened()  # Friday 18 December, due end of Monday 28
    monday = london(2026, 12, 21, 9, 0)
    assert case.days_waiting(monday) == 3 and case.days_left(monday) == 7
    assert case.days_left(london(2026, 12, 28, 23, 59)) == 0 and not case.is_overdue(london(2026, 12, 28, 23, 59))
    assert case.days_left(london(2026, 12, 30, 9, 0)) == -2 and case.is_overdue(london(2026, 12, 30, 9, 0))
    working = opened(WORKING)
    assert working.days_waiting(london(2026, 12, 29, 9, 0)) == 5 and working.days_left(london(2026, 12, 29, 9, 0)) == 5


def test_days_waiting_stops_at_the_offer() -> None:
    case = offered(london(2026, 12, 23, 15, 0))
    assert case.days_waiting(london(2027, 2, 1, 9, 0)) == 5


def test_an_overdue_case_stays_overdue_until_an_offer() -> None:
    case = allocate(opened())
    assert all(case.is_overdue(london(2026, 12, 29, 0, 0) + timedelta(days=d)) for d in range(0, 60, 7))
    assert not case.record_offer(london(2027, 1, 20, 9, 0)).is_overdue(london(2027, 1, 21, 9, 0))


def test_sla_on_the_case_exactly_once() -> None:
    case = allocate(opened())
    after_downtime = london(2027, 1, 2, 9, 0)
    owed = case.sla_owed(after_downtime)
    assert owed == (SlaEvent.DUE_SOON, SlaEvent.OVERDUE)
    for kind in owed:
        case = case.mark_sla_emitted(kind)
    assert case.sla_owed(after_downtime) == () and case.sla_owed(london(2027, 3, 1, 9, 0)) == ()


# ---- one open case per family


def test_the_first_trigger_opens_a_case() -> None:
    result = apply_trigger([], trigger(), opened_at=FRIDAY_EVENING)
    assert result.outcome is TriggerOutcome.OPENED and result.case.triggers == (trigger(),)


def test_a_second_trigger_attaches_to_the_open_case_without_moving_the_clock() -> None:
    case = opened()
    second = trigger("identified-1", london(2026, 12, 21, 9, 0), CaseSource.IDENTIFIED_IN_DATA,
                     child_ids=(CHILD_B, CHILD_A), level_of_need=LevelOfNeed.SPECIALIST,
                     concerns=(Concern.NEGLECT, Concern.DOMESTIC_ABUSE),
                     headline_problems=(HeadlineProblem.WORKLESSNESS,))
    result = apply_trigger([case], second, opened_at=london(2026, 12, 21, 9, 0))
    assert result.outcome is TriggerOutcome.ATTACHED
    joined = result.case
    assert joined.case_id == case.case_id and joined.source is CaseSource.EARLY_HELP_DECISION
    assert joined.started_at == case.started_at and joined.due_at == case.due_at
    assert joined.child_ids == (CHILD_A, CHILD_B) and joined.level_of_need is LevelOfNeed.SPECIALIST
    assert joined.concerns == (Concern.NEGLECT, Concern.DOMESTIC_ABUSE)
    assert joined.headline_problems == (HeadlineProblem.WORKLESSNESS,)
    assert len(joined.triggers) == 2


def test_a_trigger_attaches_to_an_allocated_offered_or_accepted_case_too() -> None:
    for case in (allocate(opened()), offered(), accepted()):
        result = apply_trigger([case], trigger("decision-2", london(2026, 12, 24, 9, 0)), opened_at=FRIDAY_EVENING)
        assert result.outcome is TriggerOutcome.ATTACHED and result.case.status is case.status


def test_a_redelivered_trigger_changes_nothing_open_or_closed() -> None:
    case = opened()
    result = apply_trigger([case], trigger(), opened_at=london(2026, 12, 21, 9, 0))
    assert result.outcome is TriggerOutcome.DUPLICATE and result.case is case
    attached = case.attach(trigger("decision-2"))
    assert attached.attach(trigger("decision-2")) is attached
    again = apply_trigger([attached], trigger("decision-2"), opened_at=FRIDAY_EVENING)
    assert again.outcome is TriggerOutcome.DUPLICATE
    for closed in closed_cases():
        replay = apply_trigger([closed], trigger(), opened_at=london(2027, 2, 1, 9, 0))
        assert replay.outcome is TriggerOutcome.DUPLICATE and replay.case is closed


def test_after_the_case_closes_a_new_trigger_opens_a_new_case() -> None:
    closed = closed_cases()[1]
    later = trigger("nfa-7", london(2027, 4, 1, 10, 0), CaseSource.NFA_REVIEW)
    result = apply_trigger([closed], later, opened_at=london(2027, 4, 1, 10, 0))
    assert result.outcome is TriggerOutcome.OPENED and result.case.case_id != closed.case_id
    assert result.case.source is CaseSource.NFA_REVIEW and result.case.started_at == london(2027, 4, 1, 10, 0)


def test_other_families_cases_are_ignored() -> None:
    other = Case.open(trigger("other", family=uuid.uuid4()), opened_at=FRIDAY_EVENING)
    result = apply_trigger([other], trigger(), opened_at=FRIDAY_EVENING)
    assert result.outcome is TriggerOutcome.OPENED and result.case.family_id == FAMILY
    with pytest.raises(ValueError, match="another family"):
        other.attach(trigger("decision-9"))


def test_naive_trigger_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Case.open(trigger(at=datetime(2026, 12, 18, 18, 30)), opened_at=FRIDAY_EVENING)


# ---- closing a case with an outcome category

# The rule, written out here apart from the code: which outcomes each status may close with.
ANY = frozenset(ClosureOutcome)
MAY_CLOSE_AS: dict[str, frozenset[ClosureOutcome]] = {
    "open": frozenset(),
    "allocated": frozenset({ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE}),
    "offer_made": frozenset({ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE}),
    "accepted": ANY,
    "declined": frozenset({ClosureOutcome.NO_CHANGE, ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE,
                           ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES}),
    "stepped_up": frozenset(),
    "merged": frozenset(),
    "closed": frozenset(),
}
IN_EVERY_STATUS: dict[str, Callable[[], Case]] = {
    "open": opened, "allocated": lambda: allocate(opened()), "offer_made": offered, "accepted": accepted,
    "declined": declined, "stepped_up": lambda: allocate(opened()).step_up(london(2026, 12, 23, 9, 0)),
    "merged": lambda: opened().merged_into_case(uuid.uuid4()), "closed": closed,
}
LATER = london(2027, 3, 2, 10, 0)


def test_every_status_is_covered_by_the_closure_rule() -> None:
    assert set(IN_EVERY_STATUS) == set(MAY_CLOSE_AS) == {s.value for s in CaseStatus}


@pytest.mark.parametrize("outcome", list(ClosureOutcome))
@pytest.mark.parametrize("status", list(MAY_CLOSE_AS))
def test_which_outcomes_each_status_may_close_with(status: str, outcome: ClosureOutcome) -> None:
    case = IN_EVERY_STATUS[status]()
    assert case.status.value == status
    if outcome in MAY_CLOSE_AS[status]:
        done = case.close(outcome, closed_at=LATER, closed_by="hv-17")
        assert done.status is CaseStatus.CLOSED and not done.is_open and not done.awaiting_offer
        assert done.closure is not None and done.closure.outcome is outcome
        assert done.closure.status_before is case.status and done.closure.closed_by == "hv-17"
        assert done.allocation == case.allocation and done.answer == case.answer  # the history stays
    else:
        with pytest.raises(IllegalTransition, match=f"it is {status}") as refused:
            case.close(outcome, closed_at=LATER, closed_by="hv-17")
        assert refused.value.case_id == case.case_id and refused.value.status is case.status


def test_a_closed_case_is_closed_for_good_and_off_every_list() -> None:
    done = closed(ClosureOutcome.TOO_EARLY_TO_SAY, at=london(2027, 3, 1, 16, 0))
    assert done.closed_at == london(2027, 3, 1, 16, 0) and done.closed_at.tzinfo is UTC
    assert not done.is_overdue(london(2027, 6, 1, 9, 0)) and done.sla_owed(london(2027, 6, 1, 9, 0)) == ()
    with pytest.raises(IllegalTransition, match=r"cannot close case .*: it is closed, and that is allowed only when "
                                                r"allocated or offer_made or accepted or declined"):
        done.close(ClosureOutcome.POSITIVE_OUTCOME, closed_at=LATER, closed_by="hv-17")


def test_an_outcome_the_status_does_not_allow_is_refused_naming_both() -> None:
    with pytest.raises(IllegalTransition, match=r"cannot close case .* as positive_outcome: it is declined, "
                                                r"and that is allowed only when accepted$") as refused:
        declined().close(ClosureOutcome.POSITIVE_OUTCOME, closed_at=LATER, closed_by="hv-17")
    assert refused.value.allowed == {CaseStatus.ACCEPTED}
    with pytest.raises(IllegalTransition, match=r"as escalated_to_higher_level_services: it is offer_made, and that "
                                                r"is allowed only when accepted or declined$"):
        offered().close(ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES, closed_at=LATER, closed_by="hv-17")
    with pytest.raises(IllegalTransition, match=r"cannot close case .*: it is open, and that is allowed only when "
                                                r"allocated or offer_made or accepted or declined$"):
        opened().close(ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE, closed_at=LATER, closed_by="c")


def test_closing_does_not_change_the_case_it_was_made_from() -> None:
    case = accepted()
    closed(case=case)
    assert case.status is CaseStatus.ACCEPTED and case.closure is None and case.is_open


def test_the_closing_time_is_aware_and_not_before_the_last_move() -> None:
    answered_at = london(2026, 12, 24, 9, 0)
    with pytest.raises(ValueError, match="time zone"):
        accepted().close(ClosureOutcome.NO_CHANGE, closed_at=datetime(2027, 1, 5, 9, 0), closed_by="hv-17")
    with pytest.raises(ValueError, match="closed_at cannot be before the answer"):
        accepted().close(ClosureOutcome.NO_CHANGE, closed_at=answered_at - timedelta(seconds=1), closed_by="hv-17")
    assert accepted().close(ClosureOutcome.NO_CHANGE, closed_at=answered_at, closed_by="hv-17").closed_at == answered_at
    advice = ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE
    with pytest.raises(ValueError, match="closed_at cannot be before the offer"):
        offered(london(2026, 12, 23, 15, 0)).close(advice, closed_at=london(2026, 12, 23, 14, 0), closed_by="x")
    with pytest.raises(ValueError, match="closed_at cannot be before the allocation"):
        allocate(opened()).close(advice, closed_at=london(2026, 12, 22, 9, 0), closed_by="x")


def test_days_waiting_stops_at_a_closure_without_an_offer_and_at_the_offer_otherwise() -> None:
    advice = ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE
    early = allocate(opened()).close(advice, closed_at=london(2026, 12, 23, 11, 0), closed_by="hv-17")
    assert early.days_waiting(london(2027, 6, 1, 9, 0)) == 5 and early.within_target is None
    assert early.days_taken() is None and not early.is_overdue(london(2027, 6, 1, 9, 0))
    assert closed().days_waiting(london(2027, 6, 1, 9, 0)) == 5 and closed().days_taken() == 5


def test_while_the_family_is_worked_with_a_new_trigger_joins_the_accepted_case() -> None:
    case = accepted()
    again = trigger("decision-2", london(2027, 1, 20, 9, 0), child_ids=(CHILD_B,), concerns=(Concern.DOMESTIC_ABUSE,))
    result = apply_trigger([case], again, opened_at=london(2027, 1, 20, 9, 0))
    assert result.outcome is TriggerOutcome.ATTACHED and result.case.case_id == case.case_id
    assert result.case.status is CaseStatus.ACCEPTED and result.case.child_ids == (CHILD_A, CHILD_B)
    assert result.case.started_at == case.started_at  # the clock does not move
    # ... and when the case closes, it closes with every child the family brought to it.
    assert closed(case=result.case).child_ids == (CHILD_A, CHILD_B)


def test_after_closure_a_new_trigger_opens_a_new_case_with_its_own_clock() -> None:
    done = closed(ClosureOutcome.POSITIVE_OUTCOME)
    back = trigger("decision-3", london(2027, 6, 1, 9, 0))  # back within 12 months: a re-referral to Early Help
    result = apply_trigger([done], back, opened_at=london(2027, 6, 1, 9, 5))
    assert result.outcome is TriggerOutcome.OPENED and result.case.case_id != done.case_id
    assert result.case.case_id == case_id_for("urn:frontdoor:contacts", "decision-3")
    assert result.case.status is CaseStatus.OPEN and result.case.started_at == london(2027, 6, 1, 9, 0)
    # The trigger that opened the closed case, redelivered, opens nothing; a further one joins the new case.
    assert apply_trigger([done, result.case], trigger(), opened_at=LATER).outcome is TriggerOutcome.DUPLICATE
    further = apply_trigger([done, result.case], trigger("decision-4", london(2027, 6, 2, 9, 0)), opened_at=LATER)
    assert further.outcome is TriggerOutcome.ATTACHED and further.case.case_id == result.case.case_id
