"""The KPI rules that need no database."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from outcomes.readmodel.report import check_period
from outcomes.readmodel.report_models import Figure
from outcomes.readmodel.rules import (
    came_back,
    follow_up_over,
    join_categories,
    median_of_counts,
    ratio,
    split_categories,
)

CLOSED = datetime(2024, 2, 29, 17, 45, tzinfo=UTC)  # a leap day: 12 months are 365 days all the same
DAY = timedelta(days=1)


def test_a_ratio_is_none_when_there_is_nothing_to_divide_by() -> None:
    assert ratio(0, 0) is None
    assert ratio(3, 4) == 0.75
    assert Figure.of(0, 0) == Figure(numerator=0, denominator=0, value=None)
    assert Figure.of(96, 100).value == 0.96


@pytest.mark.parametrize(("days", "back"), [(-1, False), (0, True), (1, True), (364, True), (365, False),
                                            (366, False)])
def test_the_12_months_after_a_closure_are_365_days_from_the_closing_instant(days: int, back: bool) -> None:
    assert came_back(CLOSED, [CLOSED + days * DAY]) is back


def test_came_back_looks_at_every_decision_in_order() -> None:
    times = sorted([CLOSED - 30 * DAY, CLOSED + 400 * DAY, CLOSED + 364 * DAY + timedelta(hours=23)])
    assert came_back(CLOSED, times)
    assert not came_back(CLOSED, [CLOSED - DAY, CLOSED + 365 * DAY])
    assert not came_back(CLOSED, [])
    assert came_back(CLOSED, [CLOSED + 365 * DAY - timedelta(microseconds=1)])


def test_the_follow_up_is_over_365_days_after_the_closure() -> None:
    assert not follow_up_over(CLOSED, CLOSED + 364 * DAY)
    assert not follow_up_over(CLOSED, CLOSED + 365 * DAY - timedelta(seconds=1))
    assert follow_up_over(CLOSED, CLOSED + 365 * DAY)


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
