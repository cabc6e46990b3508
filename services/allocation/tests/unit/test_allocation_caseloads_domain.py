"""Caseloads as pure rules: the quarter on Europe/London dates (across the
clock change), days since allocation in the case's own calendar, offers
outstanding and awaiting an answer, closures this quarter by outcome."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from allocation.domain.calendar import LONDON, TargetPolicy, england_and_wales_bank_holidays
from allocation.domain.caseloads import caseload, quarter_began, quarter_start, split_by
from allocation.domain.cases import Case
from allocation.domain.triggers import Trigger
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, ClosureOutcome, OfferAnswer, TargetCalendar

HOLIDAYS = england_and_wales_bank_holidays()


def _case(started: datetime, agency: str = "hv-1", ref: str = "s-1",
          calendar: TargetCalendar = TargetCalendar.CALENDAR_DAYS) -> Case:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=str(uuid.uuid4()),
                      family_id=uuid.uuid4(), occurred_at=started, child_ids=(uuid.uuid4(),))
    return Case.open(trigger, opened_at=started, policy=TargetPolicy(10, calendar), bank_holidays=HOLIDAYS).allocate(
        lead_agency_id=agency, agency_kind=AgencyKind.HEALTH_VISITING, lead_professional_ref=ref, allocated_by="c",
        allocated_at=started, at_meeting=True)


@pytest.mark.parametrize(("today", "first"), [
    (date(2026, 1, 1), date(2026, 1, 1)), (date(2026, 3, 31), date(2026, 1, 1)),
    (date(2026, 4, 1), date(2026, 4, 1)), (date(2026, 9, 30), date(2026, 7, 1)),
    (date(2026, 12, 31), date(2026, 10, 1))])
def test_a_quarter_starts_in_january_april_july_or_october(today: date, first: date) -> None:
    assert quarter_start(today) == first


def test_a_quarter_begins_at_london_midnight_in_summer_time_too() -> None:
    # 1 April is in British Summer Time: the quarter began at 23:00 UTC the evening before.
    assert quarter_began(datetime(2026, 4, 1, 0, 30, tzinfo=LONDON)) == datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    assert quarter_began(datetime(2026, 3, 31, 23, 30, tzinfo=UTC)) == datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    assert quarter_began(datetime(2026, 3, 31, 22, 30, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def test_a_caseload_counts_what_is_held_and_what_closed_this_quarter() -> None:
    now = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # a Monday
    allocated = _case(datetime(2026, 12, 11, 12, 0, tzinfo=UTC), calendar=TargetCalendar.WORKING_DAYS)
    offered = _case(datetime(2026, 12, 18, 12, 0, tzinfo=UTC)).record_offer(datetime(2026, 12, 19, tzinfo=UTC))
    accepted = offered.record_answer(OfferAnswer.ACCEPTED, datetime(2026, 12, 20, tzinfo=UTC))
    closed_now = accepted.close(ClosureOutcome.NO_CHANGE, closed_at=datetime(2026, 12, 20, 12, tzinfo=UTC),
                                closed_by="s-1")
    closed_last_quarter = _case(datetime(2026, 9, 1, tzinfo=UTC)).close(
        ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE, closed_at=datetime(2026, 9, 30, 22, 0, tzinfo=UTC),
        closed_by="s-1")  # 23:00 on 30 September in London: last quarter
    load = caseload([allocated, offered], [closed_now, closed_last_quarter], now=now, bank_holidays=HOLIDAYS)
    assert [h.case for h in load.cases] == [allocated, offered]
    # Friday 11th to Monday 21st: six working days (the case counts working days); Friday 18th: three days.
    assert [h.days_since_allocation for h in load.cases] == [6, 3]
    assert (load.open_cases, load.offers_outstanding, load.awaiting_answer, load.closed_this_quarter) == (2, 1, 1, 1)
    assert load.closed_by_outcome == {ClosureOutcome.NO_CHANGE: 1}


def test_caseloads_split_by_agency_and_by_lead_professional() -> None:
    now = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
    started = datetime(2026, 12, 14, tzinfo=UTC)
    cases = [_case(started, "hv-1", "a"), _case(started, "hv-1", "b"), _case(started, "school-2", "a")]
    by_agency = split_by(cases, [], professional=False, now=now)
    assert {k: v.open_cases for k, v in by_agency.items()} == {"hv-1": 2, "school-2": 1}
    by_professional = split_by(cases[:2], [], professional=True, now=now)
    assert {k: v.open_cases for k, v in by_professional.items()} == {"a": 1, "b": 1}
