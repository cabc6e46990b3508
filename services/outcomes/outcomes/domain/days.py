"""Days in England: the day an instant falls on, and the instant a day
starts (Europe/London). The rules count in these days, never in UTC dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def day_of(moment: datetime) -> date:
    """The date in England at `moment`."""
    return moment.astimezone(LONDON).date()


def start_of(day: date) -> datetime:
    """Midnight in England at the start of `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
