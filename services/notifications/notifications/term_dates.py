"""The local authority's school calendar, from a versioned configuration
file (`term_dates.json` by default, NOTIFICATIONS_TERM_DATES to point
elsewhere), with England's bank holidays from the `holidays` library (any
year: `domain.school_days.ENGLAND_AND_WALES`); and when the file runs out
(`last_school_day_start`, shown by the gauge `timers.TermDatesGauge`). No
metrics library here: the settings import this module before `serve` sets
up Prometheus' multiprocess directory."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

from .domain.school_days import ENGLAND_AND_WALES, SchoolCalendar, Term, school_day_start

SHIPPED = Path(__file__).with_name("term_dates.json")
LAST_DAY_METRIC = "frontdoor_notifications_term_dates_last_day_timestamp_seconds"


class TermDatesError(ValueError):
    """The file names the field that is wrong, never guesses."""


def load_calendar(path: Path = SHIPPED) -> tuple[str, SchoolCalendar]:
    """(the file's version, the calendar)."""
    try:
        document = json.loads(path.read_text())
        terms = tuple(Term(date.fromisoformat(t["first_day"]), date.fromisoformat(t["last_day"]))
                      for t in document["terms"])
        closed = frozenset(date.fromisoformat(d) for d in document.get("closed_days", []))
        starts_at = time.fromisoformat(document.get("school_starts_at", "08:30"))
        version = str(document["version"])
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise TermDatesError(f"{path}: {type(error).__name__}: {error}") from None
    return version, SchoolCalendar(terms, closed_days=closed, bank_holidays=ENGLAND_AND_WALES, starts_at=starts_at)


def last_school_day_start(calendar: SchoolCalendar) -> datetime | None:
    """The start of the last school day the calendar knows (UTC): from then
    on a DA incident reported has no next school day, so no deadline
    (`notify_by` is None). None when the calendar has no school day at all."""
    first = min((term.first_day for term in calendar.terms), default=None)
    day = calendar.last_day_known
    while first is not None and day is not None and day >= first:
        if calendar.is_school_day(day):
            return school_day_start(day, calendar)
        day -= timedelta(days=1)
    return None
