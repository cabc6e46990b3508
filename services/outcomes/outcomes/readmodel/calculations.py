"""The KPI arithmetic that needs no database, in plain Python: a ratio, the
median of a histogram, the 12 months before a period's end (a report's or a
gauge's default period), and the 12-month follow-up after a closure. Both
twelve months are the contracts' calendar months (`frontdoor_contracts.periods`),
never 365 days."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from frontdoor_contracts.periods import ENGLAND, TWELVE_MONTHS, months_after, window_end, within_twelve_months

RE_REFERRAL_WINDOW_MONTHS = TWELVE_MONTHS
"""A closed case is re-referred when a decision for its family is within 12
months of the closure: the contracts' `within_twelve_months`, the DfE's
calendar months between dates in England that the contacts service flags
re-referrals with (from the closing instant to the end of the day before
the closure's anniversary)."""


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def year_before(end: datetime) -> datetime:
    """The start of the 12 months that end at `end`: `end`'s date in England
    taken back 12 calendar months (the contracts' `months_after`: a day the
    month lacks moves to the 1st of the next, so 29 February goes back to 1
    March), at `end`'s time of day in England. A period ending at midnight is
    then the contracts' 12 months from its start: `window_end(start) == end`."""
    local = end.astimezone(ENGLAND)
    day = months_after(local.date(), -TWELVE_MONTHS)
    return datetime.combine(day, local.time(), tzinfo=ENGLAND).astimezone(UTC)


def follow_up_over(closed_at: datetime, now: datetime) -> bool:
    """Are the 12 months after a closure over at `now` (so whether the case
    came back is known)? From midnight in England on its anniversary."""
    return now >= follow_up_end(closed_at)


def follow_up_end(closed_at: datetime) -> datetime:
    """The instant the 12 months after a closure are over."""
    return window_end(closed_at, RE_REFERRAL_WINDOW_MONTHS)


def came_back(closed_at: datetime, decided_times: Sequence[datetime]) -> bool:
    """Is any of `decided_times` (sorted ascending) within the 12 months after `closed_at`?"""
    first = bisect_left(decided_times, closed_at)
    return first < len(decided_times) and within_twelve_months(closed_at, decided_times[first])


def median_of_counts(counts: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many}; None when empty. With
    an even number of values, the mean of the middle two."""
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted((value, n) for value, n in counts.items() if n > 0)
    wanted = (total - 1) // 2, total // 2  # 0-based positions of the middle value(s)
    found: list[int] = []
    seen = 0
    for value, n in ordered:
        while len(found) < 2 and wanted[len(found)] < seen + n:
            found.append(value)
        seen += n
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2
