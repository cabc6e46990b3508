"""The kit's read log: a burst of reads written in one transaction, each row
who/what/route and nothing else, the table append-only except for the
retention purge (SQLite and PostgreSQL), a log that cannot be written is a
503 with Retry-After, and the admin's page of one record's reads."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, select

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.http import Auth
from frontdoor_platform.problems import ProblemError
from frontdoor_platform.reads import (
    Read,
    ReadFields,
    ReadLog,
    ReadPurgeFields,
    Reads,
    ReadTables,
    append_only_sql,
    record_of,
)
from frontdoor_platform.reads_route import reads_page

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROUTE = "GET /v1/contacts/{contact_id}"


class Table(SQLModel, registry=registry()):
    pass


class ReadEntry(ReadFields, Table, table=True):
    __tablename__ = "read_log"


class ReadPurge(ReadPurgeFields, Table, table=True):
    __tablename__ = "read_log_purges"


TABLES = ReadTables(ReadEntry, ReadPurge)


def made(url: str) -> Engine:
    engine = build_engine(url)
    Table.metadata.create_all(engine)
    with engine.begin() as connection:
        for statement in append_only_sql(engine.dialect.name, "read_log"):
            connection.execute(text(statement))
    return engine


@pytest.fixture
def engine(tmp_path: Any) -> Iterator[Engine]:
    built = made(f"sqlite:///{tmp_path / 'reads.db'}")
    yield built
    built.dispose()


def commits_on(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda _connection: counted.append(1))
    return counted


def read(n: int, at: datetime = NOW) -> Read:
    return Read("client:mash-front-door", ROUTE, (record_of("contact", n), record_of("person", n)), at)


async def test_a_burst_of_reads_is_written_in_one_transaction(engine: Engine) -> None:
    log = ReadLog(engine, ReadEntry)
    commits = commits_on(engine)
    await asyncio.gather(*(log.record(read(n)) for n in range(200)))
    assert len(commits) == 1 and log.commits == 1
    with Session(engine) as session:
        rows = session.exec(select(ReadEntry)).all()
    assert len(rows) == 400 and len({row.read_id for row in rows}) == 200
    assert {row.reader for row in rows} == {"client:mash-front-door"} and {row.route for row in rows} == {ROUTE}
    assert {row.record for row in rows} == {f"{kind}:{n}" for kind in ("contact", "person") for n in range(200)}
    assert {row.at for row in rows} == {NOW}
    await log.record(read(7))  # a read alone: its own transaction
    assert len(commits) == 2


async def test_a_log_that_cannot_be_written_is_a_503_never_the_data_unlogged(engine: Engine) -> None:
    log = ReadLog(engine, ReadEntry)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE read_log"))
    auth = Auth(keyring=None, engine=engine, clock=lambda: NOW)  # type: ignore[arg-type]
    reads = Reads(log, "client:reader", ROUTE, auth)
    with pytest.raises(ProblemError) as refused:
        await reads.shown(["contact:1"])
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    await asyncio.gather(*(log.record(read(n)) for n in range(3)), return_exceptions=True)
    assert log.commits == 0


def test_a_record_kind_is_a_short_word() -> None:
    assert record_of("case", uuid.UUID(int=1)) == f"case:{uuid.UUID(int=1)}"
    for kind in ("", "a:b", "x" * 41):
        with pytest.raises(ValueError, match="record kind"):
            record_of(kind, 1)


async def test_the_reads_of_a_record_and_the_admin_page(engine: Engine) -> None:
    log = ReadLog(engine, ReadEntry)
    for n in range(5):
        await log.record(Read(f"staff:ka-{n}", "GET /page/", ("person:child-1", f"notification:{n}"), NOW))
    with Session(engine) as session:
        found = TABLES.reads_of(session, "person", ["child-1", "child-2"])
        assert [row.reader for row in found] == [f"staff:ka-{n}" for n in range(5)]
        assert TABLES.reads_of(session, "person", []) == []
        first = reads_page(session, ReadEntry, "person:child-1", limit=3)
        rest = reads_page(session, ReadEntry, "person:child-1", after=first.next_after, limit=3)
    assert [r.reader for r in first.reads + rest.reads] == [f"staff:ka-{n}" for n in range(5)]
    assert first.next_after is not None and rest.next_after is None


def test_only_the_purge_deletes_and_only_what_is_older(database_url: str) -> None:
    engine = made(database_url)
    old, young = NOW - timedelta(days=400), NOW - timedelta(days=10)
    with Session(for_writing(engine)) as session:
        session.add_all([ReadEntry(read_id=uuid.uuid4(), at=at, reader="client:r", route=ROUTE, record=f"case:{n}")
                         for n, at in enumerate([old, old, old, young])])
        session.commit()
    refused = ["UPDATE read_log SET reader = 'client:someone-else'", "DELETE FROM read_log"]
    if engine.dialect.name == "postgresql":
        refused.append("TRUNCATE read_log")
    for statement in refused:
        with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
    with Session(for_writing(engine)) as session:
        assert TABLES.purge_reads(session, NOW - timedelta(days=365), batch=2) == 2
        assert TABLES.purge_reads(session, NOW - timedelta(days=365), batch=2) == 1
        assert TABLES.purge_reads(session, NOW - timedelta(days=365), batch=2) == 0
        session.commit()
    with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text("DELETE FROM read_log"))  # the young row: no purge's cutoff lets it go
    with Session(engine) as session:
        assert [row.record for row in session.exec(select(ReadEntry)).all()] == ["case:3"]
        assert len(session.exec(select(ReadPurge)).all()) == 3
    engine.dispose()
