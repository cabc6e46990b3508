"""The SPA-to-offer target over awkward calendars: Friday evenings, Christmas and New Year,
Easter, bank holidays, clock changes; calendar days and working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from allocation.domain.calendar import (
    LONDON,
    TargetPolicy,
    add_working_days,
    days_between,
    due_at,
    due_date,
    due_date_of,
    england_and_wales_bank_holidays,
    is_working_day,
    local_date,
    working_days_between,
)
from frontdoor_contracts.vocabulary import TargetCalendar

CALENDAR = TargetPolicy(10, TargetCalendar.CALENDAR_DAYS)
WORKING = TargetPolicy(10, TargetCalendar.WORKING_DAYS)
BANK = england_and_wales_bank_holidays()


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def test_the_default_target_is_ten_calendar_days() -> None:
    assert TargetPolicy() == CALENDAR


@pytest.mark.parametrize(
    ("holiday", "name"),
    [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day (substitute, 26th is a Saturday)"),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 3, 26), "Good Friday"),
        (date(2027, 3, 29), "Easter Monday"),
        (date(2027, 5, 3), "Early May"),
        (date(2027, 8, 30), "Summer"),
        (date(2027, 12, 27), "Christmas Day (substitute)"),
        (date(2027, 12, 28), "Boxing Day (substitute)"),
    ],
)
def test_england_and_wales_bank_holidays_come_from_the_library(holiday: date, name: str) -> None:
    assert holiday in BANK, name
    assert not is_working_day(holiday, BANK)


def test_scottish_only_holidays_are_working_days() -> None:
    assert is_working_day(date(2026, 11, 30), BANK)  # St Andrew's Day (substitute) is Scotland's only
    assert is_working_day(date(2027, 8, 2), BANK)  # Scotland's summer bank holiday


def test_friday_evening_calendar_days() -> None:
    started = london(2026, 12, 18, 18, 30)  # Friday evening
    assert due_date(started, CALENDAR) == date(2026, 12, 28)
    assert due_at(started, CALENDAR) == datetime(2026, 12, 29, tzinfo=UTC)


def test_friday_evening_working_days_over_christmas_and_new_year() -> None:
    # Mon 21..Thu 24 (4), Christmas, Boxing Day substitute Mon 28, Tue 29..Thu 31 (7), New Year's Day, Mon 4..Wed 6 (10)
    assert due_date(london(2026, 12, 18, 18, 30), WORKING) == date(2027, 1, 6)


def test_friday_evening_and_saturday_morning_are_due_the_same_working_day() -> None:
    assert due_date(london(2027, 6, 11, 19, 45), WORKING) == due_date(london(2027, 6, 12, 9, 0), WORKING)
    assert due_date(london(2027, 6, 11, 19, 45), WORKING) == date(2027, 6, 25)


def test_christmas_eve_decision() -> None:
    started = london(2026, 12, 24, 16, 0)
    assert due_date(started, CALENDAR) == date(2027, 1, 3)  # a Sunday: calendar days do not roll
    assert due_date(started, WORKING) == date(2027, 1, 12)


@pytest.mark.parametrize("day", range(24, 32))
def test_every_day_over_christmas_and_new_year_in_working_days(day: int) -> None:
    started = london(2026, 12, day, 12, 0)
    due = due_date(started, WORKING)
    assert is_working_day(due, BANK)
    assert working_days_between(started.date(), due, BANK) == 10
    assert due <= date(2027, 1, 15)


def test_calendar_days_may_end_on_christmas_day() -> None:
    assert due_date(london(2026, 12, 15, 9, 0), CALENDAR) == date(2026, 12, 25)


@pytest.mark.parametrize(
    "started",
    [
        london(2027, 3, 25, 8, 0),  # Maundy Thursday morning
        london(2027, 3, 25, 23, 59),  # Thursday, last minute
        london(2027, 3, 26, 11, 0),  # Good Friday
        london(2027, 3, 27, 11, 0),  # Saturday
        london(2027, 3, 28, 11, 0),  # Easter Sunday (clocks went forward at 01:00)
        london(2027, 3, 29, 9, 0),  # Easter Monday
    ],
)
def test_over_easter_2027_working_days_all_land_on_the_same_day(started: datetime) -> None:
    # Tue 30, Wed 31, Thu 1, Fri 2, Mon 5 .. Fri 9, Mon 12: the tenth working day
    assert due_date(started, WORKING) == date(2027, 4, 12)
    assert due_at(started, WORKING) == datetime(2027, 4, 12, 23, 0, tzinfo=UTC)  # midnight BST


def test_over_easter_2027_calendar_days() -> None:
    started = london(2027, 3, 25, 15, 0)
    assert due_date(started, CALENDAR) == date(2027, 4, 4)
    assert due_at(started, CALENDAR) == datetime(2027, 4, 4, 23, 0, tzinfo=UTC)
    assert due_at(started, CALENDAR) - started == timedelta(days=10, hours=8)  # GMT start, BST end


def test_decision_on_a_bank_holiday() -> None:
    started = london(2027, 8, 30, 10, 0)  # Summer bank holiday
    assert due_date(started, CALENDAR) == date(2027, 9, 9)
    assert due_date(started, WORKING) == date(2027, 9, 13)
    assert due_date(london(2027, 8, 27, 17, 0), WORKING) == date(2027, 9, 13)  # the Friday before: the same


def test_the_start_date_is_the_london_date_of_the_event_time() -> None:
    late_utc = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 BST on 1 July
    assert local_date(late_utc) == date(2027, 7, 1)
    assert due_date(late_utc, CALENDAR) == date(2027, 7, 11)
    winter_utc = datetime(2027, 1, 15, 23, 30, tzinfo=UTC)  # GMT: still the 15th
    assert due_date(winter_utc, CALENDAR) == date(2027, 1, 25)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        due_date(datetime(2027, 1, 15, 9, 0), CALENDAR)


def test_target_length_is_configuration() -> None:
    started = london(2027, 1, 15, 9, 0)  # Friday
    assert due_date(started, TargetPolicy(5, TargetCalendar.CALENDAR_DAYS)) == date(2027, 1, 20)
    assert due_date(started, TargetPolicy(5, TargetCalendar.WORKING_DAYS)) == date(2027, 1, 22)
    assert due_date(started, TargetPolicy(1, TargetCalendar.WORKING_DAYS)) == date(2027, 1, 18)
    with pytest.raises(ValueError):
        TargetPolicy(0)


def test_bank_holidays_can_be_injected() -> None:
    started = london(2027, 1, 15, 9, 0)
    assert due_date(started, WORKING, bank_holidays=frozenset()) == date(2027, 1, 29)
    assert due_date(started, WORKING, bank_holidays={date(2027, 1, 18)}) == date(2027, 2, 1)


def test_due_date_of_inverts_due_at() -> None:
    for started in (london(2026, 12, 18, 18, 30), london(2027, 3, 25, 8, 0), london(2027, 10, 29, 12, 0)):
        for policy in (CALENDAR, WORKING):
            assert due_date_of(due_at(started, policy)) == due_date(started, policy)


def test_an_offer_at_the_last_minute_of_the_due_date_is_within_target() -> None:
    due = due_at(london(2027, 3, 25, 8, 0), CALENDAR)
    assert london(2027, 4, 4, 23, 59, 59) < due <= london(2027, 4, 5, 0, 0)


def test_working_day_arithmetic() -> None:
    assert add_working_days(date(2027, 3, 25), 0, BANK) == date(2027, 3, 25)
    assert add_working_days(date(2027, 3, 25), 1, BANK) == date(2027, 3, 30)
    assert working_days_between(date(2027, 3, 25), date(2027, 3, 30), BANK) == 1
    assert working_days_between(date(2027, 3, 30), date(2027, 3, 25), BANK) == -1
    assert working_days_between(date(2027, 3, 26), date(2027, 3, 29), BANK) == 0
    with pytest.raises(ValueError):
        add_working_days(date(2027, 3, 25), -1, BANK)


def test_days_between_in_each_calendar() -> None:
    start, end = date(2026, 12, 18), date(2026, 12, 29)
    assert days_between(start, end, TargetCalendar.CALENDAR_DAYS) == 11
    assert days_between(start, end, TargetCalendar.WORKING_DAYS) == 5  # Mon 21 - Thu 24, Tue 29
    assert days_between(end, start, TargetCalendar.CALENDAR_DAYS) == -11
