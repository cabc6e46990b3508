"""The SPA-to-offer target: a due date from the start time and a calendar.

The clock starts at the SPA decision time (event time). Days are counted on
Europe/London dates: the start date is day 0, and the target is met by the end
of the due date. `due_at` is the exclusive instant the target passes (local
midnight at the start of the day after the due date), so a case is overdue
when `now >= due_at` and an offer is within target when `offered_at < due_at`.
Instants come back in UTC: Python subtracts two datetimes that share one
tzinfo by wall clock, which is wrong across a clock change.

- Calendar days (default): the due date is the start date plus N days, whatever
  day of the week or holiday it falls on.
- Working days: the due date is the Nth working day after the start date (the
  start date itself never counts, so a decision on Friday evening and one on
  Saturday morning are due on the same day). Weekends and England and Wales
  bank holidays (from the `holidays` library) are not working days.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from frontdoor_contracts.vocabulary import TargetCalendar

LONDON = ZoneInfo("Europe/London")
DEFAULT_TARGET_DAYS = 10

BankHolidays = Container[date]


@dataclass(frozen=True)
class TargetPolicy:
    """How long a family may wait from SPA decision to offer, and how the days are counted."""

    days: int = DEFAULT_TARGET_DAYS
    calendar: TargetCalendar = TargetCalendar.CALENDAR_DAYS

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("the target must be at least one day")


DEFAULT_TARGET = TargetPolicy()


@cache
def england_and_wales_bank_holidays() -> BankHolidays:
    """England and Wales bank holidays, any year (the `holidays` library expands years on demand)."""
    # England and Wales share one list of bank holidays; the library files it under subdivision ENG.
    return holidays.country_holidays("GB", subdiv="ENG")


def local_date(moment: datetime, tz: ZoneInfo = LONDON) -> date:
    """The calendar date of an aware datetime in `tz` (Europe/London by default)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place in time: give it a zone")
    return moment.astimezone(tz).date()


def is_working_day(day: date, bank_holidays: BankHolidays) -> bool:
    return day.weekday() < 5 and day not in bank_holidays


def add_working_days(start: date, days: int, bank_holidays: BankHolidays) -> date:
    """The `days`-th working day after `start` (`start` itself never counts). `days` >= 0; 0 gives `start`."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, bank_holidays):
            remaining -= 1
    return day


def working_days_between(start: date, end: date, bank_holidays: BankHolidays) -> int:
    """Working days in (start, end]; negative (minus those in (end, start]) when end is before start."""
    if end < start:
        return -working_days_between(end, start, bank_holidays)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day, bank_holidays):
            count += 1
    return count


def days_between(start: date, end: date, calendar: TargetCalendar, bank_holidays: BankHolidays | None = None) -> int:
    """Whole days from `start` to `end` as the target counts them (negative when `end` is before `start`)."""
    if calendar is TargetCalendar.WORKING_DAYS:
        return working_days_between(start, end, _holidays(bank_holidays))
    return (end - start).days


def due_date(started_at: datetime, policy: TargetPolicy, bank_holidays: BankHolidays | None = None) -> date:
    """The last day on which an offer meets the target."""
    start = local_date(started_at)
    if policy.calendar is TargetCalendar.WORKING_DAYS:
        return add_working_days(start, policy.days, _holidays(bank_holidays))
    return start + timedelta(days=policy.days)


def end_of_day(day: date, tz: ZoneInfo = LONDON) -> datetime:
    """The first instant after `day` in `tz` (local midnight), as an aware datetime in `tz`."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def due_at(started_at: datetime, policy: TargetPolicy, bank_holidays: BankHolidays | None = None) -> datetime:
    """The instant the target passes (exclusive): the end of the due date in Europe/London, in UTC."""
    return end_of_day(due_date(started_at, policy, bank_holidays)).astimezone(UTC)


def due_date_of(due: datetime) -> date:
    """The due date of a `due_at` instant (the inverse of `due_at` for display)."""
    return local_date(due - timedelta(microseconds=1))


def _holidays(bank_holidays: BankHolidays | None) -> BankHolidays:
    return england_and_wales_bank_holidays() if bank_holidays is None else bank_holidays
