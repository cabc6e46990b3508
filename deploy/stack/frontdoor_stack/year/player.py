"""The player: the generated year's events (events.py) made on the running
stack, each at its business instant on the shared simulated clock (`Pacer`):

- `Publish`: the CloudEvent as is, with a plain idempotent producer (as the
  demo feed publishes);
- `CaseMove`: `POST /v1/cases/{id}/{move}` on the allocation service with
  the stack's coordinator key, the body naming the move's business instant
  (so a move the player makes late is still dated when it happened), the
  case found as its `CaseRef` says (`finding.py`); a case the platform has
  not opened yet is looked for again for a few wall seconds;
- `Acknowledge`: as the school (a school-scoped notifications key), the
  unacknowledged notification of that incident in its inbox is acknowledged;
- `Expect`: nothing to send (the platform opens the case by itself).

What went wrong is counted (`Tally`), never logged with its values: the
player handles synthetic people, but prints counts and business dates only."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from ..kafka_clients import Producers
from .events import Acknowledge, CaseMove, Expect, Publish, YearEvent
from .finding import CaseFinder
from .pacing import Pacer

SENT_BATCH = 500  # publishes in flight before their acknowledgements are collected
TIMED = ("allocated_at", "offered_at", "answered_at", "stepped_up_at", "closed_at")  # each move's own time


@dataclass
class Tally:
    """What the player did, by kind (counts only)."""

    published: int = 0
    moves: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    expected: int = 0
    not_found: Counter[str] = field(default_factory=Counter)  # case or notification never found
    refused: Counter[str] = field(default_factory=Counter)  # the service answered 4xx
    retimed: Counter[str] = field(default_factory=Counter)  # made at the service's now: its own time was refused
    failed: int = 0  # no answer, or 5xx
    business_now: datetime | None = None  # the instant of the last event played

    def short(self) -> str:
        missing = sum(self.not_found.values()) + sum(self.refused.values()) + self.failed
        return (f"{self.published} published, {sum(self.moves.values())} case moves, {self.acknowledged} "
                f"acknowledged, {missing} not done")

    def lines(self) -> list[str]:
        return [self.short(),
                *([f"  not found: {dict(self.not_found)}"] if self.not_found else []),
                *([f"  refused: {dict(self.refused)}"] if self.refused else []),
                *([f"  made at the service's time (their own came before the case's last move, which "
                   f"was late): {dict(self.retimed)}"] if self.retimed else []),
                *([f"  failed (no answer or 5xx): {self.failed}"] if self.failed else [])]


@dataclass
class Services:
    """The stack's clients the player acts through."""

    producers: Producers
    finder: CaseFinder
    allocation: httpx.AsyncClient  # with the coordinator key
    inbox: Callable[[str], httpx.AsyncClient | None]  # a school's URN -> a client with its scoped key
    patience: float = 10.0  # wall seconds to keep looking for a case or notification not there yet
    retry_every: float = 0.25


class Player:
    """Plays the events in order, each at its instant; what one event asks is done beside the next ones (a
    publish is sent and its acknowledgement collected later; a case's moves run one after another, other cases'
    beside them, at most `concurrency` requests at once), so a slow answer does not hold the year back."""

    def __init__(self, pacer: Pacer, services: Services, on_event: Callable[[Tally], None] | None = None,
                 concurrency: int = 8):
        self.pacer, self.services = pacer, services
        self.tally = Tally()
        self._on_event = on_event or (lambda _: None)
        self._slots = asyncio.Semaphore(concurrency)
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._sent: list[asyncio.Future[Any]] = []

    async def play(self, events: Iterable[YearEvent]) -> Tally:
        for event in events:
            await self.pacer.until(event.at)
            self.tally.business_now = event.at
            await self.one(event)
            self._on_event(self.tally)
            await asyncio.sleep(0)  # behind, the pacer does not wait: let the moves under way go on meanwhile
        await self.finish()
        return self.tally

    async def finish(self) -> None:
        """Wait for every move, acknowledgement and publish under way."""
        await asyncio.gather(*self._chains.values())
        await self._delivered()

    async def _delivered(self) -> None:
        sent, self._sent = self._sent, []
        for outcome in await asyncio.gather(*sent, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.tally.failed += 1
            else:
                self.tally.published += 1

    async def one(self, event: YearEvent) -> None:
        if isinstance(event, Publish):
            self._sent.append(await self.services.producers.send(event.topic, event.value, key=event.key.encode()))
            if len(self._sent) >= SENT_BATCH:
                await self._delivered()
        elif isinstance(event, CaseMove):
            move = event
            self._chain(f"case:{move.case.key}", move.at, lambda: self.move(move))
        elif isinstance(event, Acknowledge):
            ack = event
            self._chain(f"incident:{ack.school_urn}:{ack.police_reference}", ack.at, lambda: self.acknowledge(ack))
        elif isinstance(event, Expect):
            self.tally.expected += 1

    def _chain(self, key: str, at: datetime, act: Callable[[], Awaitable[None]]) -> None:
        """`act()` (the event at `at`) after whatever is under way for `key` (the same case, or the same
        school's incident)."""
        before = self._chains.get(key)

        async def run() -> None:
            if before is not None:
                await before
            self.pacer.lateness.saw(self.pacer.clock() - at)
            try:
                await act()
            except httpx.HTTPError:
                self.tally.failed += 1

        task = asyncio.create_task(run())
        self._chains[key] = task
        task.add_done_callback(lambda done: self._chains.pop(key) if self._chains.get(key) is done else None)

    async def _eventually(self, look: Callable[[], Awaitable[str | None]]) -> str | None:
        """`look()` until it finds something or the patience is over; a request slot is held only while it
        looks (not while it waits to look again), so the chains still looking do not hold the others back."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.services.patience
        while True:
            async with self._slots:
                found = await look()
            if found is not None or loop.time() >= until:
                return found
            await asyncio.sleep(self.services.retry_every)

    async def move(self, event: CaseMove) -> None:
        s, kind = self.services, event.move.value
        case_id = await self._eventually(lambda: s.finder.find(event.case))
        if case_id is None:
            self.tally.not_found[kind] += 1
            return
        path = f"/v1/cases/{case_id}/{event.move.value}"
        async with self._slots:
            response = await s.allocation.post(path, json=event.body)
            timeless = {k: v for k, v in event.body.items() if k not in TIMED}
            if response.status_code == 422 and timeless != event.body:
                # Its time falls before the case's last move, which the service dated itself (a move of the
                # platform's own, or a case it joined to another): made at the service's time instead.
                response = await s.allocation.post(path, json=timeless)
                self.tally.retimed[kind] += response.status_code == 200
        if response.status_code == 200:
            self.tally.moves[kind] += 1
        elif response.status_code < 500:
            self.tally.refused[f"{kind} {response.status_code}"] += 1
        else:
            self.tally.failed += 1

    async def acknowledge(self, event: Acknowledge) -> None:
        client = self.services.inbox(event.school_urn)
        if client is None:
            self.tally.not_found["school key"] += 1
            return

        async def unacknowledged() -> str | None:
            response = await client.get("/v1/inbox", params={"limit": 1000})
            if response.status_code != 200:
                return None
            for item in response.json():
                if item["acknowledged_at"] is None and item["notice"].get("police_reference") == \
                        event.police_reference:
                    return str(item["notification_id"])
            return None

        found = await self._eventually(unacknowledged)
        if found is None:
            self.tally.not_found["notification"] += 1
            return
        async with self._slots:
            response = await client.post(f"/v1/inbox/{found}/acknowledgement")
        if response.status_code == 200:
            self.tally.acknowledged += 1
        elif response.status_code < 500:
            self.tally.refused[f"acknowledgement {response.status_code}"] += 1
        else:
            self.tally.failed += 1
