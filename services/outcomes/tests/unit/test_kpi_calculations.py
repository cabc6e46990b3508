"""The KPI arithmetic that needs no database (readmodel/calculations.py), and the
categories' column encoding (readmodel/tables.py)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from frontdoor_contracts.periods import window_end, within_twelve_months
from outcomes.readmodel.calculations import came_back, follow_up_over, median_of_counts, ratio, year_before
from outcomes.readmodel.report import check_period
from outcomes.readmodel.report_models import Figure
from outcomes.readmodel.tables import join_categories, split_categories

CLOSED = datetime(2024, 2, 29, 17, 45, tzinfo=UTC)  # a leap day: its 12 months run to the end of 28 February 2025
DAY = timedelta(days=1)


def test_a_ratio_is_none_when_there_is_nothing_to_divide_by() -> None:
    assert ratio(0, 0) is None
    assert ratio(3, 4) == 0.75
    assert Figure.of(0, 0) == Figure(numerator=0, denominator=0, value=None)
    assert Figure.of(96, 100).value == 0.96


@pytest.mark.parametrize(("decided", "back"), [
    (CLOSED - timedelta(minutes=1), False),
    (CLOSED, True),
    (datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC), True),  # 365 days and more after a leap day: still inside
    (datetime(2025, 3, 1, 0, 0, tzinfo=UTC), False),  # the anniversary (1 March: no 29 February in 2025)
    (datetime(2026, 6, 14, 22, 59, tzinfo=UTC), False),
])
def test_the_12_months_after_a_closure_are_calendar_months(decided: datetime, back: bool) -> None:
    assert came_back(CLOSED, [decided]) is back


@pytest.mark.parametrize(("closed", "decided", "back"), [
    (datetime(2025, 6, 15, 10, tzinfo=UTC), datetime(2026, 6, 14, 22, 59, tzinfo=UTC), True),  # 23:59 BST, 14 June
    (datetime(2025, 6, 15, 10, tzinfo=UTC), datetime(2026, 6, 14, 23, 0, tzinfo=UTC), False),  # 00:00 BST, 15 June
    (datetime(2025, 6, 15, 10, tzinfo=UTC), datetime(2026, 6, 15, 9, 0, tzinfo=UTC), False),  # under 365 days
    (datetime(2027, 3, 1, 12, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC), True),  # 365 days, a leap year
])
def test_came_back_is_the_contracts_within_twelve_months(closed: datetime, decided: datetime, back: bool) -> None:
    assert came_back(closed, [decided]) is back is within_twelve_months(closed, decided)


def test_came_back_looks_at_every_decision_in_order() -> None:
    times = sorted([CLOSED - 30 * DAY, CLOSED + 400 * DAY, CLOSED + 364 * DAY + timedelta(hours=23)])
    assert came_back(CLOSED, times)
    assert not came_back(CLOSED, [CLOSED - DAY, CLOSED + 366 * DAY])
    assert not came_back(CLOSED, [])
    assert came_back(CLOSED, [datetime(2025, 3, 1, tzinfo=UTC) - timedelta(microseconds=1)])


def test_the_follow_up_is_over_at_midnight_in_england_on_the_anniversary() -> None:
    assert not follow_up_over(CLOSED, CLOSED + 365 * DAY)  # 28 February 2025: the last day of the 12 months
    assert not follow_up_over(CLOSED, datetime(2025, 3, 1, tzinfo=UTC) - timedelta(seconds=1))
    assert follow_up_over(CLOSED, datetime(2025, 3, 1, tzinfo=UTC))
    summer = datetime(2025, 6, 15, 10, tzinfo=UTC)
    assert not follow_up_over(summer, datetime(2026, 6, 14, 22, 59, 59, tzinfo=UTC))
    assert follow_up_over(summer, datetime(2026, 6, 14, 23, 0, tzinfo=UTC))  # 00:00 BST on 15 June 2026


@pytest.mark.parametrize(("end", "start"), [
    # 1 April 2025 00:00 BST back to 1 April 2024 00:00 BST: a year of 365 days would start on 1 April 00:00 BST too,
    (datetime(2025, 3, 31, 23, tzinfo=UTC), datetime(2024, 3, 31, 23, tzinfo=UTC)),
    # but across a leap day 365 days fall short: 1 February 2025 back to 1 February 2024 is 366 days,
    (datetime(2025, 2, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
    # a missing day moves to the 1st of the next month, as in the contracts (29 February 2024 back to 1 March 2023),
    (datetime(2024, 2, 29, 12, tzinfo=UTC), datetime(2023, 3, 1, 12, tzinfo=UTC)),
    # and the time of day is England's: 10:00 BST on 15 June, 10:00 GMT on 15 January.
    (datetime(2025, 6, 15, 9, tzinfo=UTC), datetime(2024, 6, 15, 9, tzinfo=UTC)),
    (datetime(2025, 1, 15, 10, tzinfo=UTC), datetime(2024, 1, 15, 10, tzinfo=UTC)),
])
def test_the_year_before_an_end_is_12_calendar_months_in_england(end: datetime, start: datetime) -> None:
    assert year_before(end) == start
    assert year_before(end).tzinfo is UTC


def test_a_year_ending_at_midnight_is_the_contracts_12_months_from_its_start() -> None:
    for end in (datetime(2025, 3, 31, 23, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
                datetime(2028, 3, 1, tzinfo=UTC), datetime(2025, 10, 25, 23, tzinfo=UTC)):  # the last: 26 October, BST
        start = year_before(end)
        assert window_end(start) == end
        assert within_twelve_months(start, end - timedelta(microseconds=1))
        assert not within_twelve_months(start, end)
    assert year_before(datetime(2025, 2, 1, tzinfo=UTC)) != datetime(2025, 2, 1, tzinfo=UTC) - 365 * DAY


@pytest.mark.parametrize("counts", [{}, {5: 1}, {1: 1, 2: 1}, {0: 3, 10: 1}, {3: 2, 7: 2}, {1: 0, 4: 3, 9: 0},
                                    {12: 5, 2: 4, 30: 1}, {0: 1, 1: 1, 2: 1, 3: 1}])
def test_the_median_of_a_histogram_is_the_median_of_its_values(counts: dict[int, int]) -> None:
    values = [value for value, n in counts.items() for _ in range(n)]
    assert median_of_counts(counts) == (statistics.median(values) if values else None)


def test_categories_are_kept_sorted_and_distinct_in_one_column() -> None:
    assert join_categories(["health", "crime_asb", "health"]) == "crime_asb,health"
    assert split_categories("crime_asb,health") == ["crime_asb", "health"]
    assert split_categories("") == []


def test_a_period_must_be_aware_and_in_order() -> None:
    check_period(CLOSED, CLOSED)
    with pytest.raises(ValueError, match="aware"):
        check_period(datetime(2024, 1, 1), CLOSED)
    with pytest.raises(ValueError, match="ends before"):
        check_period(CLOSED, CLOSED - DAY)
