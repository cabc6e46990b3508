"""Writers of one SQLite file take turns: in one process in the order they asked, across processes at a lock.

SQLite lets one writer in at a time, and a writer that finds the lock taken
polls for it, sleeping longer each time (up to 100 ms a try). A consumer that
commits a small batch every few milliseconds takes the lock back between
those tries, so the outbox relay's update, in the same process, could wait
most of a second for a free moment: the DA alerts' stalls of about 600 ms
every few seconds in the bench (deploy/bench/profiles.md). Here a writer that
BEGINs IMMEDIATE first queues for its turn; the connection gives the turn to
the next in the queue when its transaction ends, or it goes back to the
pool, closes or is invalidated.

Writers in other processes (the API's audit entries beside the worker's
batches) meet at a lock on a companion file (`<database>.writers`, flock),
asked for every millisecond while it is taken: no FIFO across processes, but
no sleeps of 100 ms either, and the kernel lets it go when a process dies.

The turn only orders writers that would otherwise poll: SQLite's own lock
still decides. A writer that has waited `wait_seconds` goes on without its
turn (SQLite's busy timeout then applies as before), so a turn never kept,
whatever the reason, delays writers but never stops them.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# How often a writer asks for the file's lock while another process holds it: every millisecond. No queue
# across processes: a waiter gets in only by asking in a gap between the other's turns, so it must not ask
# less often the longer it waits (the API's audit entries beside a busy worker).
POLL_SECONDS = 0.001


class FileTurn:
    """The writers' lock across processes: flock on a companion file, taken by this process's turn holder."""

    def __init__(self, path: Path):
        self._path = path
        self._fd: int | None = None
        self.held = False

    def take(self, wait_seconds: float) -> bool:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_SECONDS)
                continue
            self.held = True
            return True

    def give_back(self) -> None:
        if self.held and self._fd is not None:
            self.held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class WriterTurns:
    def __init__(self, wait_seconds: float, across: FileTurn | None = None):
        self._wait = wait_seconds
        self._across = across
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
        """Wait for `owner`'s turn (at once when it has it, or nobody has), then for the other processes'
        writers; False when it went on without one of them."""
        with self._mutex:
            if self._holder is owner:
                return True
            entry = (threading.Event(), owner)
            if self._holder is None and not self._queue:
                self._holder = owner
                entry[0].set()
            else:
                self._queue.append(entry)
        if not entry[0].wait(self._wait):
            with self._mutex:
                if self._holder is not owner:  # not handed over as the wait ended: go on without
                    self._queue.remove(entry)
                    return False
        return self._across_processes()

    def _across_processes(self) -> bool:
        """The turn holder's wait for the file's lock (only it asks: one at a time in this process)."""
        return self._across is None or self._across.take(self._wait)

    def give_back(self, owner: object) -> None:
        """`owner`'s turn ends (nothing when it has none): the next in the queue has it."""
        with self._mutex:
            if self._holder is not owner:
                return
            if self._across is not None:
                self._across.give_back()
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
