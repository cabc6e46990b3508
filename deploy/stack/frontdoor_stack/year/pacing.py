"""The player's pace: wait until the simulated clock reaches an event's
business instant, or, when the player is already past it (late), go at
once and count it. The clock is the one every process of the stack shares
(`frontdoor_platform.clock.SimulatedClock`); `sleep` is injected so tests
drive a fake wall without sleeping.

Also the speed `frontdoor-stack year` picks: the business span (the year and
its follow-up) over the wall time it may take."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontdoor_platform.clock import SimulatedClock

Sleep = Callable[[float], Awaitable[None]]
DEFAULT_MINUTES = 18.0  # the whole (year and follow-up) on the wall by default: under the 20 minutes, with room
SHORTEST_NAP = 0.0005  # seconds: closer than this to an instant is on time


def speed_for(span: timedelta, minutes: float) -> float:
    """Business seconds per wall second so that `span` takes `minutes` on the wall."""
    if minutes <= 0:
        raise ValueError("--minutes must be above 0")
    return span.total_seconds() / (minutes * 60.0)


@dataclass
class Lateness:
    """How the player kept up: events played late (past their instant when reached) and the most behind."""

    played: int = 0
    late: int = 0
    most_behind: timedelta = field(default_factory=timedelta)

    def saw(self, behind: timedelta) -> None:
        """A request made `behind` its instant (a move waiting for the one before it on the same case)."""
        self.most_behind = max(self.most_behind, behind)

    def line(self) -> str:
        return (f"{self.played} events played, {self.late} late (played at once); the player was at most "
                f"{_business(self.most_behind)} of business time behind")


def _business(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


class Pacer:
    """Waits for business instants on `clock`; counts what came late."""

    def __init__(self, clock: SimulatedClock, sleep: Sleep = asyncio.sleep):
        self.clock, self._sleep = clock, sleep
        self.lateness = Lateness()

    async def until(self, at: datetime) -> timedelta:
        """Return once the clock is at or past `at`: how far past it was when reached (zero when waited for)."""
        self.lateness.played += 1
        behind = self.clock() - at
        if behind >= timedelta(0):
            if behind > timedelta(0):
                self.lateness.late += 1
                self.lateness.most_behind = max(self.lateness.most_behind, behind)
            return behind
        while (ahead := at - self.clock()) > timedelta(0):
            await self._sleep(max(self.clock.wall_seconds(ahead), SHORTEST_NAP))
        return timedelta(0)

    async def until_then(self, at: datetime) -> None:
        """Wait for `at` without counting it as an event (the end of the follow-up)."""
        while (ahead := at - self.clock()) > timedelta(0):
            await self._sleep(max(self.clock.wall_seconds(ahead), SHORTEST_NAP))
