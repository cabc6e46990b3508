"""Which families the outcomes service will identify in data, and when: its
rule (two or more Troubled Families headline problems, no open Early Help
case, once per episode: again only after a case has ended and the quiet
period passed), applied to what the year tells it about each family, so the
generator knows the cases the platform opens by itself and can work them.

The evidence the year gives: DA incidents (police contacts with an
incident), needs-help decisions (a referral, Early Help, advice to complete
an Early Help Assessment) and, for families known only from data, an
adult's out-of-work benefit, a health need and anti-social behaviour. Each
counts while it is recent (the 365-day lookback); worklessness while it
lasts. Thresholds as the outcomes service ships them (thresholds.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from frontdoor_contracts.vocabulary import HeadlineProblem

from .calendar import local_date, start_of

LOOKBACK_DAYS = 365
QUIET_DAYS_AFTER_CLOSURE = 90
IDENTIFY_AT_PROBLEMS = 2


@dataclass
class Picture:
    """One family as the outcomes service sees it (days in England)."""

    da_days: list[date] = field(default_factory=list)
    needs_help_days: list[date] = field(default_factory=list)
    health_days: list[date] = field(default_factory=list)
    asb_days: list[date] = field(default_factory=list)
    workless: list[tuple[date, date | None]] = field(default_factory=list)  # (from, to) on out-of-work benefit
    open_cases: set[str] = field(default_factory=set)
    ended_on: list[date] = field(default_factory=list)  # cases closed, declined or stepped up
    identified_on: list[date] = field(default_factory=list)
    last_event_at: datetime | None = None

    def saw(self, at: datetime) -> None:
        self.last_event_at = at if self.last_event_at is None else max(self.last_event_at, at)

    def problems(self, on: date) -> set[HeadlineProblem]:
        since = on - timedelta(days=LOOKBACK_DAYS)

        def recent(days: list[date]) -> bool:
            return any(since <= day <= on for day in days)

        found = set()
        if recent(self.da_days):
            found.add(HeadlineProblem.DOMESTIC_ABUSE)
        if recent(self.needs_help_days):
            found.add(HeadlineProblem.CHILDREN_IN_NEED)
        if recent(self.health_days):
            found.add(HeadlineProblem.HEALTH)
        if recent(self.asb_days):
            found.add(HeadlineProblem.CRIME_ASB)
        if any(start <= on and (end is None or on <= end) for start, end in self.workless):
            found.add(HeadlineProblem.WORKLESSNESS)
        return found

    def due(self) -> datetime | None:
        """When the family qualifies next (not yet checked against its problems), or None."""
        if self.open_cases or self.last_event_at is None:
            return None
        closed = max(self.ended_on, default=None)
        if self.identified_on and (closed is None or closed < self.identified_on[-1]):
            return None
        when = self.last_event_at
        if closed is not None:
            when = max(when, start_of(closed + timedelta(days=QUIET_DAYS_AFTER_CLOSURE)))
        return when

    def identify(self, at: datetime) -> tuple[datetime, list[HeadlineProblem]] | None:
        """Identified as of `at`: (when, problems), recorded; None if not (yet)."""
        when = self.due()
        if when is None or when > at:
            return None
        problems = self.problems(local_date(when))
        if len(problems) < IDENTIFY_AT_PROBLEMS:
            return None
        self.identified_on.append(local_date(when))
        return when, sorted(problems)
