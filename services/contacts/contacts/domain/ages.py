"""A child's age in whole years on a day: what the decision tells the
allocations meeting instead of the date of birth."""

from __future__ import annotations

from datetime import date

OLDEST = 25  # the contract's bound: a care leaver is supported to 25


def age_on(born: date | None, day: date) -> int | None:
    """Whole years from `born` to `day` (a birthday on 29 February counts on 1 March in other years); None when
    the date of birth is unknown, or would give an age outside 0..25 (a typo is not passed on as a fact)."""
    if born is None:
        return None
    years = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return years if 0 <= years <= OLDEST else None
