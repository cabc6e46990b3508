"""The local authority's school calendar, from a versioned configuration
file (`term_dates.json` by default, NOTIFICATIONS_TERM_DATES to point
elsewhere), with England's bank holidays from the `holidays` library."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

import holidays

from .domain.school_days import SchoolCalendar, Term

SHIPPED = Path(__file__).with_name("term_dates.json")


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
    years = sorted({term.first_day.year for term in terms} | {term.last_day.year for term in terms})
    bank_holidays = frozenset(holidays.country_holidays("GB", subdiv="ENG", years=years))
    return version, SchoolCalendar(terms, closed_days=closed, bank_holidays=bank_holidays, starts_at=starts_at)
