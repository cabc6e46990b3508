"""Test doubles for in-process tests of a service (never used in production):
a publisher that keeps what it was given, can be made to refuse, and can
be held so a test sees requests in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .kafka import BrokerUnavailable, Headers, OutboundRecord


class MemoryPublisher:
    def __init__(self) -> None:
        self.records: list[OutboundRecord] = []
        self.up = True
        self.gate = asyncio.Event()
        self.gate.set()

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def ready(self) -> bool:
        return self.up

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Headers = ()) -> None:
        if not (await self.publish_many([OutboundRecord(topic, key, value, headers)]))[0]:
            raise BrokerUnavailable("the broker is down")

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[bool]:
        await self.gate.wait()
        if not self.up:
            return [False] * len(records)
        self.records += records
        return [True] * len(records)

    def on(self, topic: str) -> list[OutboundRecord]:
        return [r for r in self.records if r.topic == topic]
