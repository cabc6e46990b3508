from datetime import date

import pytest

from contacts.domain.ages import age_on


@pytest.mark.parametrize(("born", "day", "age"), [
    (date(2015, 6, 10), date(2025, 6, 9), 9),     # the day before the birthday
    (date(2015, 6, 10), date(2025, 6, 10), 10),   # on it
    (date(2016, 2, 29), date(2025, 2, 28), 8),    # a leap-day birthday, not yet in a common year
    (date(2016, 2, 29), date(2025, 3, 1), 9),
    (date(2025, 1, 1), date(2025, 1, 1), 0),      # born today
])
def test_whole_years_on_the_day(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


@pytest.mark.parametrize("born", [None, date(2026, 1, 1), date(1990, 1, 1)])
def test_unknown_or_impossible_dates_give_no_age(born: date | None) -> None:
    assert age_on(born, date(2025, 6, 1)) is None
