"""The deadline: the start of the next school day after the report."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest

from notifications.domain.school_days import ENGLAND_AND_WALES, LONDON, SchoolCalendar, Term, notify_by
from notifications.term_dates import load_calendar

TERMS = (Term(date(2026, 9, 2), date(2026, 10, 23)), Term(date(2026, 11, 2), date(2026, 12, 18)),
         Term(date(2027, 1, 5), date(2027, 2, 12)), Term(date(2027, 2, 22), date(2027, 3, 25)),
         Term(date(2027, 4, 12), date(2027, 5, 28)), Term(date(2027, 6, 7), date(2027, 7, 21)))
BANK_HOLIDAYS = frozenset(holidays.country_holidays("GB", subdiv="ENG", years=(2026, 2027)))
CALENDAR = SchoolCalendar(TERMS, closed_days=frozenset({date(2026, 11, 2)}), bank_holidays=BANK_HOLIDAYS)


def london(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)  # type: ignore[misc]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("reported", "due", "case"), [
    (london(2026, 11, 13, 21, 0), utc(2026, 11, 16, 8, 30), "Friday night: Monday morning"),
    (london(2026, 11, 15, 10, 0), utc(2026, 11, 16, 8, 30), "Sunday: Monday morning"),
    (london(2027, 5, 2, 18, 0), utc(2027, 5, 4, 7, 30), "before the May bank holiday Monday: Tuesday (BST)"),
    (london(2027, 2, 17, 9, 0), utc(2027, 2, 22, 8, 30), "in February half-term: the first day back"),
    (london(2026, 10, 30, 15, 0), utc(2026, 11, 3, 8, 30), "before an INSET day: the day after it"),
    (london(2027, 4, 2, 11, 0), utc(2027, 4, 12, 7, 30), "in the Easter holidays: the first day of term"),
    (london(2026, 11, 18, 7, 0), utc(2026, 11, 18, 8, 30), "07:00 on a school day: that morning"),
    (london(2026, 11, 18, 8, 45), utc(2026, 11, 19, 8, 30), "08:45 on a school day: the next one"),
    (london(2027, 6, 11, 7, 0), utc(2027, 6, 11, 7, 30), "07:00 in summer time: 08:30 BST is 07:30 UTC"),
])
def test_the_next_school_day_starts(reported: datetime, due: datetime, case: str) -> None:
    assert notify_by(reported, CALENDAR) == due, case


def test_across_the_october_clock_change() -> None:
    no_half_term = CALENDAR.overridden(terms=[Term(date(2026, 9, 2), date(2026, 12, 18))])
    # Saturday 24 October is BST; the clocks go back early on Sunday; Monday 08:30 is GMT.
    assert notify_by(london(2026, 10, 24, 12, 0), no_half_term) == utc(2026, 10, 26, 8, 30)


def test_the_summer_holidays_need_next_years_term_dates() -> None:
    assert notify_by(london(2027, 7, 22, 10, 0), CALENDAR) is None  # not known yet: a person is told
    next_year = CALENDAR.overridden(terms=[*TERMS, Term(date(2027, 9, 2), date(2027, 10, 22))])
    assert notify_by(london(2027, 7, 22, 10, 0), next_year) == utc(2027, 9, 2, 7, 30)


def test_a_school_overrides_the_authoritys_calendar() -> None:
    own = CALENDAR.overridden(closed_days=[date(2026, 11, 16)], starts_at=time(8, 45))
    assert notify_by(london(2026, 11, 13, 21, 0), own) == utc(2026, 11, 17, 8, 45)


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        notify_by(datetime(2026, 11, 13, 21, 0), CALENDAR)


def _early_may_bank_holiday(year: int) -> date:
    first = date(year, 5, 1)
    return first.replace(day=1 + (7 - first.weekday()) % 7)  # the first Monday of May


def test_a_school_whose_terms_run_past_the_authoritys_years_keeps_its_bank_holidays() -> None:
    # the authority's calendar knows 2026-27; a school's own terms run to 2035: every year's early May bank
    # holiday is a holiday, the day after it a school day, and a report on the Friday before is due on the Tuesday
    _, authority = load_calendar()
    years = range(2027, 2036)
    own = authority.overridden(terms=[Term(date(year, 4, 10), date(year, 7, 20)) for year in years])
    for year in years:
        holiday = _early_may_bank_holiday(year)
        assert not own.is_school_day(holiday), year
        assert own.is_school_day(holiday + timedelta(days=1)), year
        reported = datetime.combine(holiday - timedelta(days=3), time(18, 0), tzinfo=LONDON)
        assert notify_by(reported, own) == datetime.combine(holiday + timedelta(days=1), time(8, 30), tzinfo=LONDON)


def test_bank_holidays_come_from_the_library_for_any_year() -> None:
    assert date(2031, 12, 25) in ENGLAND_AND_WALES and date(2031, 12, 24) not in ENGLAND_AND_WALES
    assert date(2029, 1, 1) in ENGLAND_AND_WALES and date(2028, 1, 3) in ENGLAND_AND_WALES  # a substitute day
    assert "2031-12-25" not in ENGLAND_AND_WALES
    # a calendar made without naming its bank holidays still knows England and Wales'
    assert not SchoolCalendar((Term(date(2040, 8, 20), date(2040, 8, 31)),)).is_school_day(date(2040, 8, 27))
