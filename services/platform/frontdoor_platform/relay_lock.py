"""One relay of an outbox at a time, on PostgreSQL (`outbox.py` says why): its session advisory lock."""

from __future__ import annotations

import contextlib
import zlib

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from .outbox_table import OutboxFields

RELAY_LOCKS = 0x46440002  # the advisory locks' first key: the outbox relays (the second: the table's)


class RelayLock:
    """One relay of an outbox at a time: PostgreSQL's session advisory lock, on a connection the relay holds
    from `acquire` to `release` (blocking calls: run them in a thread). Always granted on SQLite (one worker)."""

    def __init__(self, engine: Engine, table: type[OutboxFields]):
        self._engine = engine
        self._key = zlib.crc32(str(table.__tablename__).encode()) - 2**31  # a signed 32-bit key per table
        self._connection: Connection | None = None

    def _locking(self, sql: str) -> bool:
        assert self._connection is not None
        return bool(self._connection.execute(text(sql), {"a": RELAY_LOCKS, "b": self._key}).scalar())

    @property
    def needed(self) -> bool:
        """Only PostgreSQL's relays take the lock (SQLite has one worker): the others skip two thread hops a batch,
        each a wait for the GIL beside a busy consumer thread, on the DA alerts' path."""
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """Take the lock if no other relay holds it: True when this relay may publish a batch."""
        if not self.needed:
            return True
        self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = self._locking("SELECT pg_try_advisory_lock(:a, :b)")
        except Exception:
            self._close()
            raise
        if not taken:
            self._close()
        return taken

    def release(self) -> None:
        """Let the lock go and give the connection back (a connection lost took the lock with it)."""
        if self._connection is None:
            return
        try:
            self._locking("SELECT pg_advisory_unlock(:a, :b)")
        except Exception:
            self._connection.invalidate()  # never back in the pool holding the lock: its session ends instead
            raise
        finally:
            self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
