"""Writers of one SQLite file, in one process, take turns in the order they asked.

SQLite lets one writer in at a time, and a writer that finds the lock taken
polls for it, sleeping longer each time (up to 100 ms a try). A consumer that
commits a small batch every few milliseconds takes the lock back between
those tries, so the outbox relay's update, in the same process, could wait
most of a second for a free moment: the DA alerts' stalls of about 600 ms
every few seconds in the bench (deploy/bench/results.md). Here a writer that
BEGINs IMMEDIATE first queues for its turn; the connection gives the turn to
the next in the queue when its transaction ends, or it goes back to the
pool, closes or is invalidated.

The turn only orders writers that would otherwise poll: SQLite's own lock
still decides. A writer that has waited `wait_seconds` goes on without its
turn (SQLite's busy timeout then applies as before), so a turn never kept,
whatever the reason, delays writers but never stops them. Writers in other
processes (the API beside the worker) still meet SQLite's polling.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


class WriterTurns:
    def __init__(self, wait_seconds: float):
        self._wait = wait_seconds
        self._mutex = threading.Lock()
        self._holder: object | None = None
        self._queue: deque[tuple[threading.Event, object]] = deque()

    @property
    def holder(self) -> object | None:
        return self._holder

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def take(self, owner: object) -> bool:
        """Wait for `owner`'s turn (at once when it has it, or nobody has); False when it went on without one."""
        with self._mutex:
            if self._holder is owner:
                return True
            if self._holder is None and not self._queue:
                self._holder = owner
                return True
            entry = (threading.Event(), owner)
            self._queue.append(entry)
        if entry[0].wait(self._wait):
            return True
        with self._mutex:
            if self._holder is owner:  # handed over just as the wait ended
                return True
            self._queue.remove(entry)
            return False

    def give_back(self, owner: object) -> None:
        """`owner`'s turn ends (nothing when it has none): the next in the queue has it."""
        with self._mutex:
            if self._holder is not owner:
                return
            self._holder = None
            if self._queue:
                ticket, self._holder = self._queue.popleft()
                ticket.set()


_TURNS: weakref.WeakKeyDictionary[Any, WriterTurns] = weakref.WeakKeyDictionary()


def turns_of(engine: Engine) -> WriterTurns | None:
    """The turns of an engine's writers (None: not a SQLite engine built by the kit)."""
    return _TURNS.get(engine.pool)


def take_turns(engine: Engine, turns: WriterTurns) -> None:
    """An IMMEDIATE begin on `engine` takes its connection's turn first (call `turns.take` from the engine's
    begin listener); the transaction's end (as its COMMIT or ROLLBACK is sent: the next writer may poll for
    the few milliseconds it takes) and every way a connection leaves its user give the turn back."""

    def transaction_ends(connection: Connection) -> None:
        fairy = connection.connection if not connection.invalidated else None
        if fairy is not None and fairy.dbapi_connection is not None:
            turns.give_back(fairy.dbapi_connection)

    def leaves(dbapi_connection: Any, *_: Any) -> None:
        turns.give_back(dbapi_connection)

    _TURNS[engine.pool] = turns
    event.listen(engine, "commit", transaction_ends)
    event.listen(engine, "rollback", transaction_ends)
    for name in ("checkin", "close", "detach", "invalidate", "soft_invalidate"):
        event.listen(engine.pool, name, leaves)
