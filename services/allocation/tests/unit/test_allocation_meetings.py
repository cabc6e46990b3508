"""The weekly allocations meeting and its agenda: most urgent first, and the cases that cannot wait."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from allocation.domain.calendar import LONDON, TargetPolicy
from allocation.domain.cases import Case
from allocation.domain.meetings import MeetingSchedule, agenda, meeting_running, next_meeting, urgency_key
from allocation.domain.triggers import Trigger
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, TargetCalendar

TUESDAY_10 = MeetingSchedule(weekday=1, at=time(10, 0))
CALENDAR = TargetPolicy(10, TargetCalendar.CALENDAR_DAYS)
WORKING = TargetPolicy(10, TargetCalendar.WORKING_DAYS)


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def case(started_at: datetime, policy: TargetPolicy = CALENDAR, name: str = "") -> Case:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=name or str(started_at),
                      family_id=uuid.uuid4(), occurred_at=started_at, child_ids=(uuid.uuid4(),))
    return Case.open(trigger, opened_at=started_at, policy=policy)


def test_next_meeting_later_this_week() -> None:
    assert next_meeting(london(2027, 3, 22, 12, 0), TUESDAY_10) == london(2027, 3, 23, 10, 0)


def test_a_meeting_starting_now_is_the_next_meeting_and_a_minute_later_it_is_next_week() -> None:
    assert next_meeting(london(2027, 3, 23, 10, 0), TUESDAY_10) == london(2027, 3, 23, 10, 0)
    # the following Tuesday is after the clocks go forward: 10:00 BST is 09:00 UTC
    following = next_meeting(london(2027, 3, 23, 10, 1), TUESDAY_10)
    assert following == datetime(2027, 3, 30, 9, 0, tzinfo=UTC)
    assert following.astimezone(LONDON).time() == time(10, 0)


def test_next_meeting_is_in_utc() -> None:
    assert next_meeting(london(2027, 7, 1, 12, 0), TUESDAY_10).utcoffset() == timedelta(0)


def test_a_meeting_on_a_bank_holiday_moves_to_the_next_working_day() -> None:
    monday = MeetingSchedule(weekday=0, at=time(9, 30))
    assert next_meeting(london(2027, 3, 26, 12, 0), monday) == london(2027, 3, 30, 9, 30)  # Easter Monday
    stay = MeetingSchedule(weekday=0, at=time(9, 30), move_off_bank_holidays=False)
    assert next_meeting(london(2027, 3, 26, 12, 0), stay) == london(2027, 3, 29, 9, 30)


def test_a_christmas_day_meeting_moves_past_boxing_day_substitute() -> None:
    friday = MeetingSchedule(weekday=4, at=time(14, 0))
    assert next_meeting(london(2026, 12, 21, 9, 0), friday) == london(2026, 12, 29, 14, 0)
    # a moved meeting is still the next one the morning it happens
    assert next_meeting(london(2026, 12, 29, 13, 0), friday) == london(2026, 12, 29, 14, 0)
    # Friday 1 January is a bank holiday too: that week's meeting moves to Monday 4 January
    assert next_meeting(london(2026, 12, 29, 15, 0), friday) == london(2027, 1, 4, 14, 0)


def test_injected_bank_holidays() -> None:
    assert next_meeting(london(2027, 3, 26, 12, 0), MeetingSchedule(weekday=0), bank_holidays=frozenset()) == london(
        2027, 3, 29, 10, 0)


def test_a_meeting_time_in_the_spring_forward_gap_moves_forward() -> None:
    sunday_0130 = MeetingSchedule(weekday=6, at=time(1, 30), move_off_bank_holidays=False)
    meeting = next_meeting(london(2027, 3, 27, 12, 0), sunday_0130)
    assert meeting == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert meeting.astimezone(LONDON).time() == time(2, 30)


@pytest.mark.parametrize(
    ("weekday", "at", "expected"),
    [("tuesday", "10:00", MeetingSchedule(1, time(10, 0))), ("Thursday", "14:30", MeetingSchedule(3, time(14, 30))),
     ("0", "09:15", MeetingSchedule(0, time(9, 15)))],
)
def test_schedule_from_configuration(weekday: str, at: str, expected: MeetingSchedule) -> None:
    assert MeetingSchedule.parse(weekday, at) == expected


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError):
        MeetingSchedule(weekday=7)
    with pytest.raises(ValueError):
        MeetingSchedule.parse("someday", "10:00")
    with pytest.raises(ValueError):
        MeetingSchedule(at=time(10, 0, tzinfo=UTC))


def test_agenda_is_most_urgent_first_ties_by_start() -> None:
    now = london(2027, 1, 18, 9, 0)  # Monday
    meeting = next_meeting(now, TUESDAY_10)
    late_morning = case(london(2027, 1, 11, 11, 0), name="late-morning")
    early_morning = case(london(2027, 1, 11, 8, 0), name="early-morning")  # same due date, started earlier
    older_working = case(london(2027, 1, 6, 9, 0), WORKING, name="older-working")  # due Wed 20 Jan
    newest = case(london(2027, 1, 15, 16, 0), name="newest")
    allocated = case(london(2027, 1, 4, 9, 0), name="allocated").allocate(
        lead_agency_id="school-100023", agency_kind=AgencyKind.SCHOOL, lead_professional_ref="STAFF-1",
        allocated_by="EHC-1", allocated_at=london(2027, 1, 5, 10, 0), at_meeting=True)
    items = agenda([newest, late_morning, allocated, older_working, early_morning], now=now, meeting_at=meeting)
    assert [item.case for item in items] == [older_working, early_morning, late_morning, newest]
    assert early_morning.due_at == late_morning.due_at
    assert [item.days_left for item in items] == [2, 3, 3, 7]


def test_a_case_due_before_the_meeting_is_flagged_and_an_overdue_one_stays_flagged() -> None:
    now = london(2027, 1, 18, 9, 0)  # Monday; meeting Tuesday 19th 10:00
    meeting = next_meeting(now, TUESDAY_10)
    due_monday = case(london(2027, 1, 8, 15, 0), name="due-monday")  # due end of Mon 18th
    overdue = case(london(2027, 1, 5, 15, 0), name="overdue")  # due end of Fri 15th
    due_wednesday = case(london(2027, 1, 10, 15, 0), name="due-wednesday")  # after the meeting
    items = {item.case.case_id: item for item in agenda([due_monday, overdue, due_wednesday], now=now,
                                                          meeting_at=meeting)}
    assert items[due_monday.case_id].allocate_before_meeting
    assert items[overdue.case_id].allocate_before_meeting and items[overdue.case_id].days_left == -3
    assert items[overdue.case_id].time_left < timedelta(0)
    assert not items[due_wednesday.case_id].allocate_before_meeting
    assert items[due_wednesday.case_id].days_left == 2


def test_time_left_is_real_time_across_a_clock_change() -> None:
    started = london(2027, 3, 25, 15, 0)  # GMT; due end of 4 April (BST)
    item, = agenda([case(started)], now=started, meeting_at=london(2027, 3, 30, 10, 0))
    assert item.time_left == timedelta(days=10, hours=8)


def test_urgency_key_orders_by_due_then_start_then_id() -> None:
    a, b = case(london(2027, 1, 11, 8, 0), name="a"), case(london(2027, 1, 11, 8, 0), name="b")
    assert sorted([a, b], key=urgency_key) == sorted([a, b], key=lambda c: c.case_id)


def test_an_empty_agenda() -> None:
    assert agenda([], now=london(2027, 1, 18, 9, 0), meeting_at=london(2027, 1, 19, 10, 0)) == []
    assert date(2027, 1, 19).weekday() == TUESDAY_10.weekday


@pytest.mark.parametrize(("moment", "running"), [
    (datetime(2026, 12, 22, 9, 44, tzinfo=LONDON), False),  # Tuesday, before the quarter of an hour before
    (datetime(2026, 12, 22, 9, 45, tzinfo=LONDON), True),
    (datetime(2026, 12, 22, 12, 59, tzinfo=LONDON), True),
    (datetime(2026, 12, 22, 13, 0, tzinfo=LONDON), False),  # three hours after the start
    (datetime(2026, 12, 23, 10, 30, tzinfo=LONDON), False),  # Wednesday
])
def test_a_meeting_runs_from_a_quarter_before_it_until_its_length_after(moment: datetime, running: bool) -> None:
    started = meeting_running(moment, MeetingSchedule(), length=timedelta(hours=3))
    assert started == (datetime(2026, 12, 22, 10, 0, tzinfo=LONDON) if running else None)
