"""Who read what: every API read and page view that shows a person's data
writes, before the data leaves, one row per record shown into the
service's read log: who (`client:<API client>` or `staff:<staff id>`,
never a person's name), what (`<kind>:<id>`: contact, person, family,
case, notification, worklist, key_adult), when (the service's clock) and
from which route (its template, `GET /v1/contacts/{contact_id}`, never the
filled URL or its query).

A service declares its table once (`class ReadEntry(ReadFields, MyTable,
table=True)`, `__tablename__ = "read_log"`, beside `ReadPurge(ReadPurgeFields,
...)` as `read_log_purges`). Writing it costs the request path little:
`ReadLog` writes the reads of concurrent requests in one transaction (one
commit, one fsync on SQLite, for a burst), on a thread of its own (so
routes waiting for it in worker threads can never starve it of one). A
read whose log cannot be written is answered 503 with Retry-After
(`NOT_LOGGED`), never with the data unlogged: the database is the only
durable place this process has, so there is nowhere else to queue it.

Append-only: no route or command updates or deletes a row; each service's
migration puts triggers on the table (`append_only_sql`) that refuse any
UPDATE (and on PostgreSQL TRUNCATE), and any DELETE of a row not older
than a cutoff recorded in `read_log_purges` first: `purge_reads` records
its cutoff, then deletes, so only the retention purge removes rows, and
each purge leaves its trace. `reads_of` is what the subject access export
reads (through the service's `ReadTables`);
`reads_route.add_reads_route` the admin's `GET /v1/reads`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio.from_thread
from fastapi import Depends, Request
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from . import append_only
from .apikeys import Caller
from .audit import client_actor
from .database import UTCDateTime, for_writing
from .http import Auth, caller
from .problems import ProblemError

NOT_LOGGED = "this read could not be recorded in the read log now, so nothing is shown; retry after Retry-After"
RETRY_AFTER = {"Retry-After": "1"}
KIND_LENGTH, RECORD_LENGTH = 40, 160


class ReadFields(SQLModel):
    id: int | None = Field(default=None, primary_key=True)  # the order rows were written: the admin route's cursor
    read_id: uuid.UUID = Field(index=True)  # one request: every record it showed
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    reader: str = Field(max_length=120)
    route: str = Field(max_length=200)
    record: str = Field(max_length=RECORD_LENGTH, index=True)  # <kind>:<id>


class ReadPurgeFields(SQLModel):
    """A retention purge's cutoff, written before it deletes: the triggers let rows older than it go."""

    id: int | None = Field(default=None, primary_key=True)
    before: datetime = Field(sa_type=UTCDateTime, nullable=False)


def record_of(kind: str, record_id: object) -> str:
    """`<kind>:<id>` (ids are the platform's: uuids, URNs, staff references; never a name)."""
    if not kind or len(kind) > KIND_LENGTH or ":" in kind:
        raise ValueError("a record kind is a short word without a colon")
    return f"{kind}:{record_id}"[:RECORD_LENGTH]


@dataclass(frozen=True)
class Read:
    reader: str
    route: str
    records: tuple[str, ...]
    at: datetime


class ReadLog:
    """The reads of concurrent requests, written together. Each caller awaits its own read's commit; a
    batch that fails fails each of its reads (each request answers 503; nothing is shown unlogged)."""

    def __init__(self, engine: Engine, table: type[ReadFields]):
        self.engine, self.table = engine, table
        self.commits = 0  # transactions written (a burst's reads share them)
        self._waiting: list[tuple[Read, asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="read-log")

    @property
    def waiting(self) -> int:
        """Reads queued behind the transaction being written."""
        return len(self._waiting)

    async def record(self, read: Read) -> None:
        if not read.records:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((read, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            failure: Exception | None = None
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._write, [r for r, _ in batch])
            except Exception as exc:
                failure = exc
            for _, future in batch:
                if future.done():
                    continue
                if failure is None:
                    future.set_result(None)
                else:
                    future.set_exception(failure)

    def _write(self, batch: list[Read]) -> None:
        rows = [{"read_id": read_id, "at": read.at, "reader": read.reader, "route": read.route, "record": record}
                for read, read_id in ((r, uuid.uuid4()) for r in batch) for record in dict.fromkeys(read.records)]
        with Session(for_writing(self.engine)) as session:
            session.execute(insert(self.table), rows)
            session.commit()
        self.commits += 1

    def close(self) -> None:
        self._thread.shutdown(wait=False)


def log_of(request: Request, table: type[ReadFields]) -> ReadLog:
    """The app's read log, made on first use on the app's engine (`app.state.auth`)."""
    state = request.app.state
    log: ReadLog | None = getattr(state, "read_log", None)
    if log is None:
        auth: Auth = state.auth
        log = state.read_log = ReadLog(auth.engine, table)
    return log


def route_of(request: Request) -> str:
    """The route's template, never the filled path or its query: `GET /v1/cases/{case_id}`."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '?')}"[:200]


@dataclass(frozen=True)
class Reads:
    """A request's reads, bound to who asked and by which route."""

    log: ReadLog
    reader: str
    route: str
    auth: Auth

    def _read(self, records: Iterable[str]) -> Read:
        return Read(self.reader, self.route, tuple(records), self.auth.clock())

    async def shown(self, records: Iterable[str]) -> None:
        """Record these records as read by this request (from an async route or page view); 503 if it cannot be."""
        try:
            await self.log.record(self._read(records))
        except Exception:
            raise ProblemError(503, NOT_LOGGED, headers=RETRY_AFTER) from None

    def shown_from_thread(self, db: Session | None, records: Iterable[str]) -> None:
        """`shown`, from a plain route's worker thread: `db`'s connection is handed back to the pool first
        (the response is built; a burst of waiting routes must not hold every connection the log needs)."""
        if db is not None:
            db.close()
        anyio.from_thread.run(self.shown, list(records))


def recorder(table: type[ReadFields]) -> Any:
    """A dependency: the request's `Reads`, its reader the calling API key's client."""

    async def reads(request: Request, who: Annotated[Caller, Depends(caller)]) -> Reads:
        return Reads(log_of(request, table), client_actor(who), route_of(request), request.app.state.auth)

    return reads


def staff_reads(request: Request, table: type[ReadFields], staff_id: str) -> Reads:
    """A page view's `Reads`, its reader the signed-in key adult (`staff:<staff id>`)."""
    return Reads(log_of(request, table), f"staff:{staff_id}"[:120], route_of(request), request.app.state.auth)


def reads_of(session: Session, table: type[ReadFields], kind: str, ids: Iterable[object]) -> list[ReadFields]:
    """Every read of these records, oldest first (the subject access export's part)."""
    records = [record_of(kind, i) for i in ids]
    if not records:
        return []
    return list(session.exec(select(table).where(col(table.record).in_(records)).order_by(col(table.id))).all())


def purge_reads(session: Session, table: type[ReadFields], purges: type[ReadPurgeFields], older_than: datetime,
                batch: int) -> int:
    """Delete at most `batch` reads made before `older_than`, after recording the cutoff (the triggers let
    nothing younger go); how many went. The caller commits."""
    session.execute(insert(purges), [{"before": older_than}])
    # oldest first by `at`, so its index finds them (in id order a pass with nothing due read the whole log)
    ids = list(session.exec(select(table.id).where(col(table.at) < older_than).order_by(col(table.at))
                            .limit(batch)).all())
    if ids:
        session.execute(delete(table).where(col(table.id).in_(ids)))
    return len(ids)


@dataclass(frozen=True)
class ReadTables:
    """A service's read log and its purges' cutoffs (`models.READ_LOG`), with the two calls other parts
    make: the subject access export's `reads_of` and the retention purge's `purge_reads`."""

    table: type[ReadFields]
    purges: type[ReadPurgeFields]

    def reads_of(self, session: Session, kind: str, ids: Iterable[object]) -> list[ReadFields]:
        return reads_of(session, self.table, kind, ids)

    def reads_of_records(self, session: Session, records: Iterable[str]) -> list[ReadFields]:
        """Every read of these `<kind>:<id>` records, oldest first."""
        wanted = sorted(set(records))
        if not wanted:
            return []
        return list(session.exec(select(self.table).where(col(self.table.record).in_(wanted))
                                 .order_by(col(self.table.id))).all())

    def purge_reads(self, session: Session, older_than: datetime, batch: int) -> int:
        return purge_reads(session, self.table, self.purges, older_than, batch)


def append_only_sql(dialect: str, table: str) -> list[str]:
    """The read log's triggers: append-only, but for the rows a recorded purge cutoff lets go."""
    return append_only.append_only_sql(dialect, table, purgeable=True)


drop_append_only_sql = append_only.drop_append_only_sql
