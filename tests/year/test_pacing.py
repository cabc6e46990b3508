"""The player's pace against a SimulatedClock on a fake wall: it waits for
each event's business instant (sleeping the wall time the speed gives), plays
a late event at once and counts it, and says how far behind it ever was.
The fake wall moves only when the pacer sleeps or the test says so: nothing
sleeps in real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.clock import SimulatedClock
from frontdoor_stack.year.events import CaseRef, Expect, Publish, YearEvent
from frontdoor_stack.year.pacing import Pacer, speed_for
from frontdoor_stack.year.player import Player, Services, Tally

START = datetime(2026, 9, 1, tzinfo=UTC)
SPEED = 3600.0  # a business hour a wall second


class FakeWall:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer() -> tuple[Pacer, FakeWall]:
    wall = FakeWall()
    return Pacer(SimulatedClock(START, SPEED, since=wall.now, wall=wall), sleep=wall.sleep), wall


def test_it_sleeps_the_wall_time_until_the_business_instant() -> None:
    pace, wall = pacer()
    behind = asyncio.run(pace.until(START + timedelta(hours=2)))
    assert behind == timedelta(0)
    assert sum(wall.slept) == pytest.approx(2.0)
    assert pace.clock() >= START + timedelta(hours=2)
    assert pace.lateness.late == 0 and pace.lateness.played == 1


def test_a_late_event_is_played_at_once_and_counted_with_how_far_behind() -> None:
    pace, wall = pacer()
    wall.now += 5.0  # the player was busy for 5 wall seconds: 5 business hours
    behind = asyncio.run(pace.until(START + timedelta(hours=2)))
    assert behind == timedelta(hours=3)
    assert wall.slept == []
    wall.now += 1.0
    asyncio.run(pace.until(START + timedelta(hours=5)))  # an hour behind
    assert pace.lateness.late == 2 and pace.lateness.most_behind == timedelta(hours=3)
    assert "2 late" in pace.lateness.line() and "3.0 h" in pace.lateness.line()


def test_events_in_order_are_each_reached_at_their_instant() -> None:
    pace, wall = pacer()
    reached = []
    for hours in (1, 1, 4, 30):
        asyncio.run(pace.until(START + timedelta(hours=hours)))
        reached.append(pace.clock())
    assert [r - START for r in reached] == [timedelta(hours=h) for h in (1, 1, 4, 30)]
    assert sum(wall.slept) == pytest.approx(30.0)
    assert pace.lateness.late == 0  # the second event at the same instant is not behind it


def test_until_then_waits_without_counting_an_event() -> None:
    pace, wall = pacer()
    asyncio.run(pace.until_then(START + timedelta(days=1)))
    assert sum(wall.slept) == pytest.approx(24.0) and pace.lateness.played == 0


def test_the_default_speed_fits_the_span_in_the_minutes() -> None:
    two_years = timedelta(days=730)
    speed = speed_for(two_years, 18.0)
    assert two_years.total_seconds() / speed == pytest.approx(18 * 60)
    with pytest.raises(ValueError, match="--minutes"):
        speed_for(two_years, 0)


class Recorder:
    """A Producers stand-in for the pacing test only (the e2e test uses the real broker)."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.sent: list[tuple[str, datetime]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[None]:
        self.sent.append((topic, self.clock()))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_the_player_publishes_each_event_at_its_business_instant() -> None:
    pace, _ = pacer()
    recorder = Recorder(pace.clock)
    services = Services(recorder, None, None, lambda _: None)  # type: ignore[arg-type]
    events: list[YearEvent] = [Publish(START + timedelta(hours=h), "t", "k", b"{}") for h in (1, 3, 3)]
    events.append(Expect(START + timedelta(hours=4), "case-opened", CaseRef("f/case-1", CaseSource.NFA_REVIEW)))
    seen: list[Tally] = []
    tally = asyncio.run(Player(pace, services, seen.append).play(events))
    assert [at - START for _, at in recorder.sent] == [timedelta(hours=h) for h in (1, 3, 3)]
    assert tally.published == 3 and tally.expected == 1 and len(seen) == 4
    assert tally.business_now == START + timedelta(hours=4)
