"""One "within 12 months" for every service: calendar months between dates
in England, the anniversary outside, leap days and month ends rolled on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdoor_contracts.periods import (
    ENGLAND,
    date_in_england,
    months_after,
    window_end,
    within_months,
    within_twelve_months,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(("day", "months", "after"), [
    (date(2025, 6, 15), 12, date(2026, 6, 15)),
    (date(2024, 2, 29), 12, date(2025, 3, 1)),  # no 29 February in 2025: the day after 28 February
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2026, 1, 31), 1, date(2026, 3, 1)),
    (date(2026, 3, 31), 1, date(2026, 5, 1)),
    (date(2026, 12, 31), 2, date(2027, 3, 1)),
    (date(2026, 1, 10), -13, date(2024, 12, 10)),
    (date(2026, 3, 31), -1, date(2026, 3, 1)),  # no 31 February: rolled on to 1 March
])
def test_months_after_rolls_a_missing_day_on_to_the_first(day: date, months: int, after: date) -> None:
    assert months_after(day, months) == after


@pytest.mark.parametrize(("earlier", "later", "within"), [
    (utc(2025, 6, 15, 10), utc(2025, 6, 15, 10), True),  # the same instant
    (utc(2025, 6, 15, 10), utc(2025, 6, 15, 9), False),  # before it
    (utc(2025, 6, 15, 10), utc(2026, 6, 14, 22, 59), True),  # 23:59 on 14 June in England (BST)
    (utc(2025, 6, 15, 10), utc(2026, 6, 14, 23, 0), False),  # 00:00 on 15 June in England: the anniversary
    (utc(2025, 6, 15, 10), utc(2026, 6, 15, 9), False),  # the anniversary, though 365 days have not passed
    (utc(2024, 2, 29, 17, 45), utc(2025, 2, 28, 23, 59), True),  # 12 months from a leap day: to 28 February
    (utc(2024, 2, 29, 17, 45), utc(2025, 3, 1, 0, 0), False),
    (utc(2024, 2, 28, 12), utc(2025, 2, 27, 23, 59), True),
    (utc(2024, 2, 28, 12), utc(2025, 2, 28, 0, 0), False),
    (utc(2025, 3, 1, 12), utc(2026, 2, 28, 23, 59), True),  # 365 days later, the last day of the window
    (utc(2027, 3, 1, 12), utc(2028, 2, 29, 23, 59), True),  # 365 days later, a leap day: still inside
    (utc(2027, 3, 1, 12), utc(2028, 3, 1, 0, 0), False),
    (utc(2025, 6, 14, 23, 30), utc(2026, 6, 14, 12), True),  # 00:30 BST on 15 June 2025: 14 June is inside
    (utc(2025, 6, 14, 23, 30), utc(2026, 6, 14, 23, 15), False),  # 00:15 BST on 15 June 2026: its anniversary
])
def test_within_twelve_months(earlier: datetime, later: datetime, within: bool) -> None:
    assert within_twelve_months(earlier, later) is within


def test_the_window_ends_at_midnight_in_england_on_the_anniversary() -> None:
    assert window_end(utc(2025, 6, 15, 10)) == datetime(2026, 6, 15, 0, 0, tzinfo=ENGLAND)
    assert window_end(utc(2025, 6, 15, 10)) == utc(2026, 6, 14, 23, 0)  # BST
    assert window_end(utc(2025, 12, 1, 10)) == utc(2026, 12, 1, 0, 0)  # GMT
    assert window_end(utc(2025, 12, 1, 10), 6) == utc(2026, 5, 31, 23, 0)


def test_a_time_without_a_zone_and_an_empty_window_are_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        date_in_england(datetime(2026, 6, 15, 10))
    with pytest.raises(ValueError, match="at least one month"):
        within_months(utc(2026, 6, 15), utc(2026, 6, 15), 0)


INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31),
                        timezones=st.just(UTC))


@given(INSTANTS, INSTANTS, st.integers(min_value=1, max_value=60))
def test_inside_when_the_later_date_taken_back_comes_before_the_earlier(earlier: datetime, later: datetime,
                                                                        months: int) -> None:
    # the rule written another way: (year, month, day) of the later date, N months back, compared as a tuple
    first, second = date_in_england(earlier), date_in_england(later)
    back = divmod(second.year * 12 + second.month - 1 - months, 12)
    expected = earlier <= later and (back[0], back[1] + 1, second.day) < (first.year, first.month, first.day)
    assert within_months(earlier, later, months) is expected


@given(INSTANTS)
def test_the_last_moment_is_inside_and_the_window_is_twelve_calendar_months_long(earlier: datetime) -> None:
    end = window_end(earlier)
    assert within_twelve_months(earlier, end - timedelta(microseconds=1))
    assert not within_twelve_months(earlier, end)
    assert end.astimezone(ENGLAND).time() == time(0)
    days = (end.astimezone(ENGLAND).date() - date_in_england(earlier)).days
    assert days in (365, 366)
