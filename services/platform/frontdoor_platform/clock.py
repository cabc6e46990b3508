"""The clock every service injects: a function returning an aware UTC
datetime. Tests pass their own; nothing reads the wall clock directly.

Real time is the default. A simulated year (`frontdoor-stack year`) runs every
process on one simulated clock, set by three environment variables the stack
gives all of them alike, so they agree without talking:

- `FRONTDOOR_CLOCK_START`: the business instant the simulation starts at (ISO 8601 with an offset);
- `FRONTDOOR_CLOCK_SPEED`: business seconds per wall second (> 0);
- `FRONTDOOR_CLOCK_SINCE`: the wall instant (Unix seconds) that business instant corresponds to.

Business time is then `START + (wall - SINCE) * SPEED`. Production refuses it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

START, SPEED, SINCE = "FRONTDOOR_CLOCK_START", "FRONTDOOR_CLOCK_SPEED", "FRONTDOOR_CLOCK_SINCE"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SimulatedClock:
    """Business time running `speed` times faster than the wall from `start`, which was wall time `since`."""

    start: datetime
    speed: float
    since: float
    wall: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(f"{START} needs an offset")
        if not self.speed > 0:
            raise ValueError(f"{SPEED} must be above 0")

    def __call__(self) -> datetime:
        return (self.start + timedelta(seconds=(self.wall() - self.since) * self.speed)).astimezone(UTC)

    def wall_seconds(self, business: timedelta) -> float:
        """How long `business` time takes on the wall."""
        return business.total_seconds() / self.speed

    def environment(self) -> dict[str, str]:
        """The variables that give another process this same clock."""
        return {START: self.start.isoformat(), SPEED: repr(self.speed), SINCE: repr(self.since)}


def configured_clock(environ: Mapping[str, str] | None = None) -> Clock:
    """The clock this process's environment names: simulated when `FRONTDOOR_CLOCK_START` is set, else real.
    A half-set or malformed simulation is refused, naming the variable; so is one in production."""
    env = os.environ if environ is None else environ
    if not any(env.get(name) for name in (START, SPEED, SINCE)):
        return utc_now
    if env.get("FRONTDOOR_ENV") == "production":
        raise ValueError(f"{START}: a simulated clock is refused when FRONTDOOR_ENV=production")
    values = {}
    for name in (START, SPEED, SINCE):
        if not env.get(name):
            raise ValueError(f"{name} is needed with the other simulated-clock settings")
        values[name] = env[name]
    try:
        start = datetime.fromisoformat(values[START])
    except ValueError:
        raise ValueError(f"{START} is not an ISO 8601 instant") from None
    try:
        speed, since = float(values[SPEED]), float(values[SINCE])
    except ValueError:
        raise ValueError(f"{SPEED} and {SINCE} must be numbers") from None
    return SimulatedClock(start, speed, since)
