"""The KPI rules that need no database: ratios, the 12-month follow-up
window after a closure, the median of a histogram. Plain Python."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import datetime

from frontdoor_contracts.periods import TWELVE_MONTHS, window_end, within_twelve_months

RE_REFERRAL_WINDOW_MONTHS = TWELVE_MONTHS
"""A closed case is re-referred when a decision for its family is within 12
months of the closure: the contracts' `within_twelve_months`, the DfE's
calendar months between dates in England that the contacts service flags
re-referrals with (from the closing instant to the end of the day before
the closure's anniversary)."""

NATIONAL_RE_REFERRAL_RATE = 0.223
STATISTICAL_NEIGHBOURS_RE_REFERRAL_RATE = 0.208


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


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


def split_categories(joined: str) -> list[str]:
    """A comma-separated column back to its categories."""
    return [part for part in joined.split(",") if part]


def join_categories(values: Sequence[str]) -> str:
    """Categories as one column: sorted, distinct, comma-separated."""
    return ",".join(sorted(set(values)))
