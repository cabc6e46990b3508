"""The year's calendar, without the services: England and Wales bank
holidays (computed: the stack does not depend on the `holidays` library the
allocation and notifications services use; tests/year checks the two agree),
working days and the SPA-to-offer due instant as the allocation service
counts them (Europe/London dates; the start date is day 0; the target is met
before the end of the due date), and school days from the term dates.

Pure functions of dates: nothing reads a clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# Days moved or added by proclamation (England and Wales), beyond the rules below.
MOVED: dict[date, date] = {  # the rule's date -> the day it moved to
    date(1995, 5, 1): date(1995, 5, 8),
    date(2002, 5, 27): date(2002, 6, 4),
    date(2012, 5, 28): date(2012, 6, 4),
    date(2020, 5, 4): date(2020, 5, 8),
    date(2022, 5, 30): date(2022, 6, 2),
}
EXTRA = frozenset({date(1999, 12, 31), date(2002, 6, 3), date(2011, 4, 29), date(2012, 6, 5), date(2022, 6, 3),
                   date(2022, 9, 19), date(2023, 5, 8)})


def easter_sunday(year: int) -> date:
    """The Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=day.weekday())


def _substitute(day: date, taken: set[date]) -> date:
    """A holiday on a weekend (or on a day already a holiday) moves to the next free weekday."""
    while day.weekday() >= 5 or day in taken:
        day += timedelta(days=1)
    return day


@cache
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of `year`."""
    easter = easter_sunday(year)
    days = {easter - timedelta(days=2), easter + timedelta(days=1), _first_monday(year, 5),
            _last_monday(year, 5), _last_monday(year, 8)}
    days = {MOVED.get(day, day) for day in days}
    taken: set[date] = set(days)
    for fixed in (date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)):
        moved = _substitute(fixed, taken)
        taken.add(moved)
    return frozenset(taken | {d for d in EXTRA if d.year == year})


def is_bank_holiday(day: date) -> bool:
    return day in bank_holidays(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def local_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def at_local(day: date, clock: time) -> datetime:
    """`day` at the wall-clock time `clock` in England, as a UTC instant."""
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def start_of(day: date) -> datetime:
    return at_local(day, time(0))


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` never counts)."""
    day, left = start, days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def next_working_day(day: date) -> date:
    """`day` itself when it is one, else the next."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end] (negative when end is before start)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n)))


@dataclass(frozen=True)
class Target:
    """The SPA-to-offer target as the allocation service is configured with it."""

    days: int = 10
    working_days: bool = True

    def due_date(self, started_at: datetime) -> date:
        start = local_date(started_at)
        return add_working_days(start, self.days) if self.working_days else start + timedelta(days=self.days)

    def due_at(self, started_at: datetime) -> datetime:
        """The instant the target passes: midnight after the due date in England (UTC)."""
        return start_of(self.due_date(started_at) + timedelta(days=1))

    def days_taken(self, started_at: datetime, offered_at: datetime) -> int:
        start, end = local_date(started_at), local_date(offered_at)
        return working_days_between(start, end) if self.working_days else (end - start).days


@dataclass(frozen=True)
class Meetings:
    """The weekly allocations meeting (weekday 0 = Monday), moved off a bank holiday to the next working day."""

    weekday: int = 1
    at: time = time(10, 0)

    def next(self, moment: datetime) -> datetime:
        """The first meeting starting at or after `moment`."""
        today = local_date(moment)
        scheduled = today - timedelta(days=(today.weekday() - self.weekday) % 7)
        while True:
            day = next_working_day(scheduled) if is_bank_holiday(scheduled) else scheduled
            start = at_local(day, self.at)
            if start >= moment:
                return start
            scheduled += timedelta(weeks=1)


@dataclass(frozen=True)
class SchoolTerms:
    """School days: a weekday, not a bank holiday, inside a term."""

    terms: tuple[tuple[date, date], ...]
    closed: frozenset[date] = frozenset()  # days every school is closed to pupils (INSET)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]], closed: Iterable[str] = ()) -> SchoolTerms:
        return cls(tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in pairs),
                   frozenset(date.fromisoformat(d) for d in closed))

    def is_school_day(self, day: date) -> bool:
        return (is_working_day(day) and day not in self.closed
                and any(first <= day <= last for first, last in self.terms))

    def next_school_day(self, after: date, limit_days: int = 120) -> date | None:
        """The first school day after `after` (None when the terms run out)."""
        for n in range(1, limit_days + 1):
            day = after + timedelta(days=n)
            if self.is_school_day(day):
                return day
        return None
