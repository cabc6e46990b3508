"""Publishes what the handlers wrote to the outbox, in order, and marks it
published once the broker acknowledged. A crash in between republishes the
same events with the same ids: consumers dedupe on the id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.kafka import BrokerUnavailable, Publisher

from . import store
from .metrics import Metrics

log = logging.getLogger("contacts.outbox")


class OutboxRelay:
    def __init__(self, engine: Engine, publisher: Publisher, metrics: Metrics, batch_size: int = 500,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._engine = engine
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._clock = clock
        self._wake = asyncio.Event()
        self.healthy = True

    def wake(self) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch; return how many were published."""
        with Session(self._engine) as session:
            pending = store.pending_outbox(session, self._batch_size)
            if not pending:
                self._metrics.outbox_pending.set(0)
                return 0
            await self._publisher.publish_many(
                [(row.topic, row.key, row.payload, [(k, v.encode()) for k, v in row.headers or ()]) for row in pending]
            )
            store.mark_published(session, [row.id for row in pending if row.id is not None], self._clock())
            session.commit()
            self._metrics.outbox_pending.set(store.count_pending_outbox(session))
        return len(pending)

    async def run(self) -> None:
        """Publish until cancelled; a broker or database failure pauses the
        relay (and makes the service not ready), it never ends it."""
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
