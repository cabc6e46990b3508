"""Calendar months: one definition of "within 12 months" for every service.

The DfE's children in need census counts a referral as a re-referral when
it is "within 12 months of a previous referral": calendar months between
the dates of the two referrals, not 365 days, and not hours and minutes.
The contacts service flags re-referrals with it (its window is
CONTACTS_RE_REFERRAL_WINDOW_MONTHS, 12 by default) and the outcomes service
asks it whether a closed case came back to Early Help or social care within
12 months of its closure.

The rule, for two instants `earlier` and `later`: take each one's date in
England (Europe/London: a referral at 00:30 in summer time belongs to that
day, though it is still the day before in UTC); `later` is within N months
of `earlier` when it is not before `earlier` and its date comes before the
date N calendar months after `earlier`'s (that date itself is outside: on
it, N months have passed). A date the later month lacks moves to the first
day of the month after: 12 months from 29 February 2024 run to the end of
28 February 2025 (the next 1 March is outside), one month from 31 January
to the end of February. Seen from the later date (as the contacts service
looks back from a referral), the same rule reads: the earlier date comes
after the later one's (year, month, day) taken back N months."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

ENGLAND = ZoneInfo("Europe/London")
TWELVE_MONTHS = 12


def date_in_england(moment: datetime) -> date:
    """The calendar date in England at an instant (refuses a naive one)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time without a zone is no instant: give it one")
    return moment.astimezone(ENGLAND).date()


def months_after(day: date, months: int) -> date:
    """The date `months` calendar months after `day` (earlier for a negative
    number); a day the month lacks moves to the first of the next month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    try:
        return day.replace(year=year, month=month + 1)
    except ValueError:  # the 29th-31st of a shorter month
        year, month = divmod(year * 12 + month + 1, 12)
        return date(year, month + 1, 1)


def window_end(earlier: datetime, months: int = TWELVE_MONTHS) -> datetime:
    """The instant the `months` after `earlier` are over: midnight in
    England at the start of the date `months` after `earlier`'s date, in UTC
    (two datetimes sharing a zone compare by wall clock, wrong across a
    clock change)."""
    return datetime.combine(months_after(date_in_england(earlier), months), time(0), tzinfo=ENGLAND).astimezone(UTC)


def within_months(earlier: datetime, later: datetime, months: int) -> bool:
    """Is `later` at or after `earlier`, on a date in England before the one
    `months` calendar months after `earlier`'s?"""
    if months < 1:
        raise ValueError("a window of months is at least one month")
    return earlier <= later < window_end(earlier, months)


def within_twelve_months(earlier: datetime, later: datetime) -> bool:
    """The DfE's "within 12 months of" (see the module): calendar months
    between dates in England, the anniversary itself outside."""
    return within_months(earlier, later, TWELVE_MONTHS)
