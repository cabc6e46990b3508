"""Test doubles for in-process tests of a service (never used in production):
a publisher that keeps what it was given, can be made to refuse, and can
be held so a test sees requests in flight. Like the real one, it refuses a
record that can never be published (too large, a bad topic name) and holds
back the later records of its topic and key."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .kafka import BrokerUnavailable, Headers, OutboundRecord, RecordRefused, Refused, Verdict, settle_before_send


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
        verdict = (await self.publish_many([OutboundRecord(topic, key, value, headers)]))[0]
        if isinstance(verdict, Refused):
            raise RecordRefused(verdict.reason)
        if not verdict:
            raise BrokerUnavailable("the broker is down")

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[Verdict]:
        await self.gate.wait()
        verdicts: list[Verdict] = []
        for record, verdict in zip(records, settle_before_send(records), strict=True):
            if verdict is None and self.up:
                self.records.append(record)
                verdict = True
            verdicts.append(False if verdict is None else verdict)
        return verdicts

    def on(self, topic: str) -> list[OutboundRecord]:
        return [r for r in self.records if r.topic == topic]
