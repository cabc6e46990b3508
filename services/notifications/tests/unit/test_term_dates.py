"""The shipped term dates load, and a bad file names what is wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from notifications.domain.school_days import notify_by
from notifications.term_dates import TermDatesError, load_calendar


def test_the_shipped_calendar_loads_with_bank_holidays() -> None:
    version, calendar = load_calendar()
    assert version == "2026-27.1"
    assert not calendar.is_school_day(date(2026, 12, 25)) and not calendar.is_school_day(date(2026, 11, 2))
    assert calendar.is_school_day(date(2026, 11, 3))
    assert notify_by(datetime(2026, 12, 18, 16, 0, tzinfo=UTC), calendar) == datetime(2027, 1, 6, 8, 30, tzinfo=UTC)


def test_a_bad_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "terms.json"
    bad.write_text('{"version": "x", "terms": [{"first_day": "2026-13-01", "last_day": "2026-12-01"}]}')
    with pytest.raises(TermDatesError, match=r"terms\.json"):
        load_calendar(bad)
