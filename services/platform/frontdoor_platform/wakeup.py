"""An asyncio Event that any thread may set: how a commit in a worker
thread (a route, the consumer's batch) wakes a loop waiting on it (the
outbox relay, a delivery queue) at once instead of at its next poll."""

from __future__ import annotations

import asyncio


class Wakeup(asyncio.Event):
    def __init__(self) -> None:
        super().__init__()
        self._owner: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Called by the waiting loop when it starts, on its event loop."""
        self._owner = asyncio.get_running_loop()

    def wake(self) -> None:
        """Set it, from any thread; before `bind` it does nothing (the loop looks when it starts)."""
        owner = self._owner
        if owner is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is owner:
            self.set()
        else:
            owner.call_soon_threadsafe(self.set)
