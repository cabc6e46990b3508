"""The player: the generated year's events (events.py) made on the running
stack, each at its business instant on the shared simulated clock (`Pacer`):

- `Publish`: the CloudEvent as is, with a plain idempotent producer (as the
  demo feed publishes);
- `CaseMove`: `POST /v1/cases/{id}/{move}` on the allocation service with
  the stack's coordinator key, the case found as its `CaseRef` says
  (`finding.py`); a case the platform has not opened yet is looked for
  again for a few wall seconds;
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

import httpx

from ..kafka_clients import Producers
from .events import Acknowledge, CaseMove, Expect, Publish, YearEvent
from .finding import CaseFinder
from .pacing import Pacer


@dataclass
class Tally:
    """What the player did, by kind (counts only)."""

    published: int = 0
    moves: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    expected: int = 0
    not_found: Counter[str] = field(default_factory=Counter)  # case or notification never found
    refused: Counter[str] = field(default_factory=Counter)  # the service answered 4xx
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
                *([f"  failed (no answer or 5xx): {self.failed}"] if self.failed else [])]


@dataclass
class Services:
    """The stack's clients the player acts through."""

    producers: Producers
    finder: CaseFinder
    allocation: httpx.AsyncClient  # with the coordinator key
    inbox: Callable[[str], httpx.AsyncClient | None]  # a school's URN -> a client with its scoped key
    patience: float = 10.0  # wall seconds to keep looking for a case or notification not there yet
    retry_every: float = 0.05


class Player:
    def __init__(self, pacer: Pacer, services: Services, on_event: Callable[[Tally], None] | None = None):
        self.pacer, self.services = pacer, services
        self.tally = Tally()
        self._on_event = on_event or (lambda _: None)

    async def play(self, events: Iterable[YearEvent]) -> Tally:
        for event in events:
            await self.pacer.until(event.at)
            self.tally.business_now = event.at
            try:
                await self.one(event)
            except httpx.HTTPError:
                self.tally.failed += 1
            self._on_event(self.tally)
        return self.tally

    async def one(self, event: YearEvent) -> None:
        if isinstance(event, Publish):
            await self.services.producers.send_and_wait(event.topic, event.value, key=event.key.encode())
            self.tally.published += 1
        elif isinstance(event, CaseMove):
            await self.move(event)
        elif isinstance(event, Acknowledge):
            await self.acknowledge(event)
        elif isinstance(event, Expect):
            self.tally.expected += 1

    async def _eventually(self, look: Callable[[], Awaitable[str | None]]) -> str | None:
        loop = asyncio.get_running_loop()
        until = loop.time() + self.services.patience
        while True:
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
        response = await s.allocation.post(f"/v1/cases/{case_id}/{event.move.value}", json=event.body)
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
        response = await client.post(f"/v1/inbox/{found}/acknowledgement")
        if response.status_code == 200:
            self.tally.acknowledged += 1
        elif response.status_code < 500:
            self.tally.refused[f"acknowledgement {response.status_code}"] += 1
        else:
            self.tally.failed += 1
