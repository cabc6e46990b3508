"""Days in England: the day an instant falls on, the instant a day starts
(Europe/London), and the calendar month and school term a day is in (the
periods the stream counts its outputs by). The rules count in these days,
never in UTC dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from frontdoor_contracts.vocabulary import SchoolTerm

LONDON = ZoneInfo("Europe/London")


def day_of(moment: datetime) -> date:
    """The date in England at `moment`."""
    return moment.astimezone(LONDON).date()


def start_of(day: date) -> datetime:
    """Midnight in England at the start of `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def month_of(day: date) -> str:
    """The calendar month a day is in: `2026-12`."""
    return f"{day:%Y-%m}"


def term_of(day: date) -> str:
    """The English school year's term a day falls in: autumn from September, spring from January, summer from
    Easter (April)."""
    if day.month >= 9:
        return f"{day.year}/{(day.year + 1) % 100:02d}-{SchoolTerm.AUTUMN}"
    year = f"{day.year - 1}/{day.year % 100:02d}"
    return f"{year}-{SchoolTerm.SPRING if day.month < 4 else SchoolTerm.SUMMER}"
