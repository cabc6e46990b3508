"""When the term dates run out: the start of the last school day they know,
as the gauge ops staff are warned by 60 days ahead."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from notifications.domain.school_days import LONDON, SchoolCalendar, Term, notify_by
from notifications.term_dates import LAST_DAY_METRIC, last_school_day_start, load_calendar
from notifications.timers import TermDatesGauge


def test_the_shipped_file_runs_out_at_the_start_of_its_last_school_day() -> None:
    _, calendar = load_calendar()
    last_day = max(term.last_day for term in calendar.terms)
    assert calendar.is_school_day(last_day)  # the file's last term ends on a school day
    last = last_school_day_start(calendar)
    assert last == datetime.combine(last_day, time(8, 30), tzinfo=LONDON).astimezone(UTC)
    # up to then a report has a next school day; from then on none is known
    assert notify_by(last - timedelta(minutes=1), calendar) == last
    assert notify_by(last, calendar) is None


def test_a_last_day_that_is_no_school_day_is_passed_over() -> None:
    # the term "ends" on a Sunday after a closed Friday: the last school day is the Thursday
    calendar = SchoolCalendar((Term(date(2027, 1, 4), date(2027, 1, 10)),), closed_days=frozenset({date(2027, 1, 8)}))
    assert last_school_day_start(calendar) == datetime(2027, 1, 7, 8, 30, tzinfo=UTC)  # GMT in January


def test_a_calendar_without_a_school_day_has_no_last_day() -> None:
    weekend = SchoolCalendar((Term(date(2027, 1, 9), date(2027, 1, 10)),))
    assert last_school_day_start(weekend) is None
    assert last_school_day_start(SchoolCalendar(())) is None


def test_the_settings_import_no_metrics_library() -> None:
    """`serve` sets Prometheus' multiprocess directory after the settings are imported: a metrics library
    imported with them would keep the API's counters out of /metrics."""
    found = subprocess.run([sys.executable, "-c", "import notifications.main, sys; "
                            "print('prometheus_client' in sys.modules)"], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


def test_the_gauge_shows_the_timestamp_and_zero_without_a_school_day() -> None:
    _, calendar = load_calendar()
    registry = CollectorRegistry()
    gauge = TermDatesGauge(calendar)
    registry.register(gauge)
    expected = datetime(2028, 7, 20, 7, 30, tzinfo=UTC).timestamp()
    assert registry.get_sample_value(LAST_DAY_METRIC) == expected
    assert f"# TYPE {LAST_DAY_METRIC} gauge" in generate_latest(registry).decode()
    gauge.calendar = SchoolCalendar(())
    assert registry.get_sample_value(LAST_DAY_METRIC) == 0.0  # run out long ago: the alert fires
