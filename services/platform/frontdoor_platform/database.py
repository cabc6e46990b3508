"""Database plumbing: times stored as UTC, and engines built the same way
for every service (SQLite durable on commit, PostgreSQL by URL). Called by
lifespans and CLIs, never at import time.

SQLite: every transaction starts with BEGIN IMMEDIATE (one writer at a
time, waiting its turn instead of failing on a lock upgrade) and SAVEPOINT
works, so a consumer can roll back one poison record inside its batch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere (SQLite keeps no zone); read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are stored in UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_column(nullable: bool = False, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def build_engine(database_url: str, pool_size: int = 10) -> Engine:
    """PostgreSQL (`postgresql://` means psycopg 3) or SQLite, whose file's
    folder is created and which commits durably (WAL, synchronous=FULL), so a
    consumer's offsets never run ahead of what is on disk."""
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size,
                           max_overflow=pool_size, pool_timeout=10)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def answers(engine: Engine) -> bool:
    """Does the database answer a trivial query? (Blocking: call in a thread.)"""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    return True
