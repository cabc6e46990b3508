"""A pipelined outbox relay's marks in flight (`outbox.OutboxRelay`, `pipelined`): what the next read leaves
out, and the stop's wait for the last one."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

log = logging.getLogger("frontdoor.outbox")

Key = tuple[str, str | None]  # a row's topic and key: its order holds


@dataclass(frozen=True)
class Marking:
    """A batch published and its mark in flight: its rows are not read again meanwhile, nor the rows behind one
    it parks."""

    task: asyncio.Future[tuple[int, int]]
    rows: frozenset[int]
    parking: frozenset[Key]


async def last_mark(marking: Marking, stop_asked: float | None, grace: float) -> None:
    """Wait for a mark still in flight at a stop, for what is left of the grace (counted from when the stop
    was asked, if the batch before it waited too); log one that did not end or failed: its rows go again
    from the next relay (consumers dedupe)."""
    since = stop_asked if stop_asked is not None else time.monotonic()
    await asyncio.wait({marking.task}, timeout=max(0.0, grace - (time.monotonic() - since)))
    if not marking.task.done() or marking.task.cancelled() or marking.task.exception() is not None:
        log.warning("outbox rows published but not marked when the relay stopped: the next relay sends them "
                    "again (consumers dedupe)", extra={"rows": len(marking.rows)})
