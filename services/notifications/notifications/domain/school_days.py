"""When a school must know: before the start of the next school day after
the police reported the incident (Operation Encompass).

A school day is a weekday, not an England and Wales bank holiday, inside one
of the school's terms and not a day it is closed to pupils (INSET days and
other closures). The day starts at the school's start time (08:30 by
default), in Europe/London: a report at 07:00 on a school day is due that
morning, one at 08:45 on the next school day. The local authority's term
dates come from configuration; a school may override them, for as many
years as it likes: bank holidays come from the `holidays` library for
whatever year is asked about, never only for the years of the authority's
file."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
DEFAULT_START = time(8, 30)


@cache
def _bank_holidays_in(year: int) -> frozenset[date]:
    # England and Wales share one list of bank holidays; the library files it under subdivision ENG.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


@dataclass(frozen=True)
class EnglandAndWalesBankHolidays:
    """England and Wales bank holidays of any year, from the `holidays`
    library: each year worked out once, the first time a day of it is asked
    about (immutable and safe to share between threads)."""

    def __contains__(self, day: object) -> bool:
        if isinstance(day, datetime) or not isinstance(day, date):
            return False
        return day in _bank_holidays_in(day.year)


ENGLAND_AND_WALES = EnglandAndWalesBankHolidays()


@dataclass(frozen=True)
class Term:
    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError("a term ends on or after the day it starts")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class SchoolCalendar:
    terms: tuple[Term, ...]
    closed_days: frozenset[date] = frozenset()
    bank_holidays: Container[date] = ENGLAND_AND_WALES
    starts_at: time = DEFAULT_START

    def is_school_day(self, day: date) -> bool:
        return (day.weekday() < 5 and day not in self.bank_holidays and day not in self.closed_days
                and any(day in term for term in self.terms))

    def overridden(self, *, terms: Iterable[Term] | None = None, closed_days: Iterable[date] = (),
                   starts_at: time | None = None) -> SchoolCalendar:
        """A school's own calendar: its terms (else the authority's), the
        authority's closures plus its own, its start time."""
        return replace(self, terms=tuple(terms) if terms is not None else self.terms,
                       closed_days=self.closed_days | frozenset(closed_days), starts_at=starts_at or self.starts_at)

    @property
    def last_day_known(self) -> date | None:
        return max((term.last_day for term in self.terms), default=None)


def school_day_start(day: date, calendar: SchoolCalendar) -> datetime:
    return datetime.combine(day, calendar.starts_at, tzinfo=LONDON).astimezone(UTC)


def notify_by(reported_at: datetime, calendar: SchoolCalendar) -> datetime | None:
    """The start of the next school day after `reported_at` (UTC), or None
    when the calendar holds no school day after it (term dates not yet
    configured that far: a person must be told, not a guess made)."""
    if reported_at.tzinfo is None:
        raise ValueError("reported_at must carry a time zone")
    local = reported_at.astimezone(LONDON)
    day = local.date()
    if calendar.is_school_day(day) and local.time() < calendar.starts_at:
        return school_day_start(day, calendar)
    last = calendar.last_day_known
    while last is not None and day < last:
        day += timedelta(days=1)
        if calendar.is_school_day(day):
            return school_day_start(day, calendar)
    return None
