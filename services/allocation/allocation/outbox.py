"""Publishes the outbox in order and marks it published once the broker
acknowledged; a crash in between republishes the same event ids."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.kafka import BrokerUnavailable, Publisher

from . import store

log = logging.getLogger("allocation.outbox")


class OutboxRelay:
    def __init__(self, engine: Engine, publisher: Publisher, batch_size: int = 500):
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self.healthy = True

    def wake(self) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        with Session(self._engine) as session:
            pending = store.pending_outbox(session, self._batch_size)
            if pending:
                await self._publisher.publish_many([(r.topic, r.key, r.payload, []) for r in pending])
                store.mark_published(session, [r.id for r in pending if r.id is not None], datetime.now(UTC))
                session.commit()
        return len(pending)

    async def run(self) -> None:
        while True:
            try:
                while await self.publish_pending():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.healthy = False
                level = logging.WARNING if isinstance(exc, BrokerUnavailable) else logging.ERROR
                log.log(level, "outbox relay paused; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
                continue
            self.healthy = True
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
