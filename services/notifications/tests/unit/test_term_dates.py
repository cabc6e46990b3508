"""The shipped term dates load, and a bad file names what is wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from notifications.domain.school_days import notify_by
from notifications.term_dates import TermDatesError, load_calendar


def test_the_shipped_calendar_loads_with_bank_holidays() -> None:
    version, calendar = load_calendar()
    assert version == "2026-28.1"
    assert not calendar.is_school_day(date(2026, 12, 25)) and not calendar.is_school_day(date(2026, 11, 2))
    assert calendar.is_school_day(date(2026, 11, 3))
    assert notify_by(datetime(2026, 12, 18, 16, 0, tzinfo=UTC), calendar) == datetime(2027, 1, 6, 8, 30, tzinfo=UTC)


def test_the_shipped_file_holds_the_2027_28_academic_year() -> None:
    _, calendar = load_calendar()
    assert calendar.last_day_known == date(2028, 7, 20)
    # the summer holidays of 2027 now have a next school day: the first of 2027-28
    assert notify_by(datetime(2027, 7, 22, 9, 0, tzinfo=UTC), calendar) == datetime(2027, 9, 1, 7, 30, tzinfo=UTC)
    # its bank holidays and its placeholder INSET days are no school days; the day after each is one
    for closed in (date(2028, 1, 3), date(2028, 4, 14), date(2028, 4, 17), date(2028, 5, 1), date(2027, 11, 1),
                   date(2028, 1, 4), date(2028, 6, 5)):
        assert not calendar.is_school_day(closed), closed
    assert calendar.is_school_day(date(2028, 5, 2)) and calendar.is_school_day(date(2028, 6, 6))
    open_days = [date(2027, 9, 1) + timedelta(days=n) for n in range(366)]
    assert sum(calendar.is_school_day(day) for day in open_days) == 192  # 195 days open, 3 authority INSET days


def test_a_bad_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "terms.json"
    bad.write_text('{"version": "x", "terms": [{"first_day": "2026-13-01", "last_day": "2026-12-01"}]}')
    with pytest.raises(TermDatesError, match=r"terms\.json"):
        load_calendar(bad)
