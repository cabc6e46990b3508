"""The weekly Early Help Allocations Meeting: when the next one is, and its agenda.

The agenda lists every case still waiting for allocation, most urgent first:
least time left to its target (earliest `due_at`), ties broken by the earlier
start (the family that has waited longer), then by case id for a stable order.
A case due at or before the meeting is flagged `allocate_before_meeting`: it
cannot wait for the meeting, so a coordinator should allocate it now.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from frontdoor_contracts.vocabulary import TargetCalendar

from .calendar import (
    LONDON,
    BankHolidays,
    days_between,
    due_date_of,
    england_and_wales_bank_holidays,
    is_working_day,
    local_date,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class MeetingSchedule:
    """A weekly meeting: weekday (0 = Monday ... 6 = Sunday) and local start time in `tz`.

    With `move_off_bank_holidays` (the default), a meeting that would fall on a bank holiday
    moves to the next working day at the same time."""

    weekday: int = 1
    at: time = time(10, 0)
    tz: ZoneInfo = LONDON
    move_off_bank_holidays: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday is 0 (Monday) to 6 (Sunday)")
        if self.at.tzinfo is not None:
            raise ValueError("the meeting time is a local wall-clock time without a zone")

    @classmethod
    def parse(cls, weekday: str, at: str, tz: str = "Europe/London") -> MeetingSchedule:
        """From settings: a weekday name (`tuesday`) or number (0-6), and `HH:MM`."""
        name = weekday.strip().lower()
        day = WEEKDAYS.index(name) if name in WEEKDAYS else int(name)
        return cls(weekday=day, at=time.fromisoformat(at.strip()), tz=ZoneInfo(tz))


DEFAULT_MEETING = MeetingSchedule()


def _meeting_on(day: date, schedule: MeetingSchedule) -> datetime:
    # A wall-clock time inside a spring-forward gap is normalised forward by the round trip.
    return datetime.combine(day, schedule.at, tzinfo=schedule.tz).astimezone(UTC)


def next_meeting(
    now: datetime, schedule: MeetingSchedule = DEFAULT_MEETING, bank_holidays: BankHolidays | None = None
) -> datetime:
    """The start of the first meeting at or after `now`, in UTC."""
    holidays = england_and_wales_bank_holidays() if bank_holidays is None else bank_holidays
    today = local_date(now, schedule.tz)
    scheduled = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
    while True:
        day = scheduled
        if schedule.move_off_bank_holidays and day in holidays:
            day += timedelta(days=1)
            while not is_working_day(day, holidays):
                day += timedelta(days=1)
        start = _meeting_on(day, schedule)
        if start >= now:
            return start
        scheduled += timedelta(weeks=1)


class AgendaCase(Protocol):
    """What the agenda needs of a case."""

    @property
    def case_id(self) -> uuid.UUID: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def target_calendar(self) -> TargetCalendar: ...
    @property
    def awaiting_allocation(self) -> bool: ...


C = TypeVar("C", bound=AgendaCase)


@dataclass(frozen=True)
class AgendaItem(Generic[C]):
    case: C
    time_left: timedelta
    """From `now` to the case's `due_at` (negative when overdue)."""
    days_left: int
    """Days (of the case's target calendar) from today to the due date; 0 on the due date, negative when overdue."""
    allocate_before_meeting: bool
    """The target passes at or before the meeting starts: allocate between meetings."""


def urgency_key(case: AgendaCase) -> tuple[datetime, datetime, uuid.UUID]:
    """Most urgent first: least time left to target, then the longest wait, then the case id."""
    return case.due_at, case.started_at, case.case_id


def agenda(
    cases: Iterable[C], *, now: datetime, meeting_at: datetime, bank_holidays: BankHolidays | None = None
) -> list[AgendaItem[C]]:
    """The meeting's agenda: every case awaiting allocation, most urgent first."""
    today = local_date(now)
    waiting = sorted((case for case in cases if case.awaiting_allocation), key=urgency_key)
    return [
        AgendaItem(
            case=case,
            time_left=case.due_at.astimezone(UTC) - now.astimezone(UTC),
            days_left=days_between(today, due_date_of(case.due_at), case.target_calendar, bank_holidays),
            allocate_before_meeting=case.due_at <= meeting_at,
        )
        for case in waiting
    ]


def meeting_running(now: datetime, schedule: MeetingSchedule, bank_holidays: BankHolidays | None = None, *,
                    before: timedelta = timedelta(minutes=15),
                    length: timedelta = timedelta(hours=3)) -> datetime | None:
    """The start of the meeting running at `now` (from `before` its start until `length` after it), or None."""
    start = next_meeting(now - length, schedule, bank_holidays)
    return start if start - before <= now < start + length else None
