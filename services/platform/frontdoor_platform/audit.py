"""The audit trail: every change made through a service's API or command
line, with who made it, what, when, and (for directory entries) the entry
before and after. Never a secret, a password, a password hash or an API
key: `without_secrets` removes them by field name, here and only here.

A service declares its table once (`class AuditEntry(AuditFields, MyTable,
table=True)` with `AUDIT_TOPIC` its `<service>.audit.v1` declaration).
`AuditTrail.record` adds the row and its event (through the outbox) to the
caller's session, so both commit with the change or not at all;
`GroupCommit` writes entries whose change is not in the database (the
contacts API's: it went to the broker), concurrent requests' together. The
table is append-only: the kit never updates or deletes a row, and each service's
migration puts triggers on it that refuse UPDATE, DELETE (and on
PostgreSQL TRUNCATE) (`append_only_sql`).

Actors are `client:<API client name>`, `staff:<staff id>` or
`cli:<operating system user>`; targets `<kind>:<id>`. The admin role reads
the trail through `audit_read`."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic_core import to_jsonable_python
from sqlalchemy import JSON, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select
from starlette.concurrency import run_in_threadpool

from frontdoor_contracts.envelope import encode_event, new_event
from frontdoor_contracts.topics import TopicSpec

from . import append_only
from .apikeys import Caller
from .database import UTCDateTime, for_writing
from .kafka import CLOUDEVENTS_CONTENT_TYPE
from .outbox import OutboxFields
from .outbox import _store_headers as stored_headers

# A field whose name has one of these words (split on "_") is never kept: signing_secret, password_hash,
# api_key, key_hash, csrf_token, credentials... ("key_adults" is kept: "key" alone is not a secret's name).
SECRET_WORDS = frozenset({"secret", "secrets", "password", "passwords", "passwd", "passphrase", "hash", "token",
                          "tokens", "credential", "credentials", "apikey", "otp", "totp"})
SECRET_NAMES = frozenset({"api_key", "private_key", "signing_key", "key"})
# A value that is a secret whatever its field is called: webhook signing secrets, the services' API keys, argon2.
SECRET_VALUE = re.compile(r"^(whsec_|fd[kano]_|\$argon2)")
REMOVED = "[removed]"
_OS_USER = re.compile(r"[^A-Za-z0-9._@-]")


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or bool(SECRET_WORDS.intersection(re.split(r"[_\-.]", lowered)))


def without_secrets(value: Any) -> Any:
    """`value` as JSON, with every field named like a secret left out (at any depth) and any string that
    is a secret by its form replaced by `[removed]`."""
    if isinstance(value, Mapping):
        return {str(k): without_secrets(v) for k, v in value.items() if not is_secret_name(str(k))}
    if isinstance(value, list | tuple | set | frozenset):
        return [without_secrets(v) for v in value]
    if isinstance(value, str):
        return REMOVED if SECRET_VALUE.match(value) else value
    if value is None or isinstance(value, bool | int | float):
        return value
    return without_secrets(to_jsonable_python(value))


def client_actor(who: Caller) -> str:
    return f"client:{who.name}"


def staff_actor(staff_id: str) -> str:
    return f"staff:{staff_id}"


def cli_actor() -> str:
    """The operator at the command line: `cli:<operating system user>` (its uid when it has no name)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{_OS_USER.sub('_', user)[:100] or os.getuid()}"


class AuditFields(SQLModel):
    id: int | None = Field(default=None, primary_key=True)  # the order rows were written: the read's cursor
    audit_id: uuid.UUID = Field(unique=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60)
    target: str = Field(max_length=200, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON, nullable=True)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON, nullable=True)

    AUDIT_TOPIC: ClassVar[TopicSpec]


@dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    target: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    now: datetime
    audit_id: uuid.UUID | None = None


@dataclass(frozen=True)
class AuditTrail:
    """Where a service's changes are recorded: its audit table, its outbox and its event source."""

    table: type[AuditFields]
    outbox: type[OutboxFields]
    source: str

    def record(self, session: Session, actor: str, action: str, target: str, before: Mapping[str, Any] | None,
               after: Mapping[str, Any] | None, now: datetime, *, audit_id: uuid.UUID | None = None) -> bool:
        """Add the row and its `<service>.audit.v1` event to `session`; the caller commits them with the
        change. With `audit_id` (a retry of the same change), nothing is added when it is recorded already
        (False)."""
        return self.record_all(session, [Entry(actor, action, target, before, after, now, audit_id)]) == 1

    def record_all(self, session: Session, entries: list[Entry]) -> int:
        """`record` for many entries, with one look-up of those recorded already and one insert into each
        table (plain inserts: building ORM objects cost more than the rest together); how many were added."""
        ids = [e.audit_id for e in entries if e.audit_id is not None]
        seen = set(session.exec(select(self.table.audit_id).where(col(self.table.audit_id).in_(ids))).all()
                   ) if ids else set()
        topic = self.table.AUDIT_TOPIC
        assert topic.event is not None
        rows, events = [], []
        for e in entries:
            if e.audit_id in seen:
                continue
            audit_id = e.audit_id or uuid.uuid4()
            seen.add(audit_id)
            row = {"audit_id": audit_id, "at": e.now, "actor": e.actor, "action": e.action, "target": e.target,
                   "before": None if e.before is None else without_secrets(e.before),
                   "after": None if e.after is None else without_secrets(e.after)}
            event = new_event(topic.event.model_validate(row), source=self.source, subject=e.target, time=e.now,
                              event_id=str(audit_id))
            rows.append(row)
            events.append({"event_id": event.id, "topic": topic.name, "key": e.target,
                           "payload": encode_event(event), "headers": stored_headers([CLOUDEVENTS_CONTENT_TYPE]),
                           "created_at": e.now})
        if rows:
            session.execute(insert(self.table), rows)
            session.execute(insert(self.outbox), events)
        return len(rows)


class GroupCommit:
    """Entries written apart from the change they record (the contacts API's: the change went to the
    broker), the entries of concurrent requests in one transaction (one fsync on SQLite, not one each) as
    `http.Auth` looks keys up together. Each caller awaits its own entry's commit; when a shared write
    fails, each of its entries is tried alone, so one bad entry fails only its own request."""

    def __init__(self, engine: Engine, trail: AuditTrail):
        self.engine, self.trail = engine, trail
        self._waiting: list[tuple[Entry, asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def record(self, entry: Entry) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                failures = await run_in_threadpool(self._write, [entry for entry, _ in batch])
            except Exception as exc:
                failures = [exc] * len(batch)
            for (_, future), failure in zip(batch, failures, strict=True):
                if future.done():
                    continue
                if failure is None:
                    future.set_result(None)
                else:
                    future.set_exception(failure)

    def _write(self, entries: list[Entry]) -> list[Exception | None]:
        try:
            self._commit(entries)
            return [None] * len(entries)
        except Exception:
            if len(entries) == 1:
                raise
        failures: list[Exception | None] = []
        for entry in entries:
            try:
                self._commit([entry])
                failures.append(None)
            except Exception as exc:
                failures.append(exc)
        return failures

    def _commit(self, entries: list[Entry]) -> None:
        with Session(for_writing(self.engine)) as session:
            self.trail.record_all(session, entries)
            session.commit()


def trail_beside(table: type[SQLModel], source: str) -> AuditTrail | None:
    """The audit trail of the service whose tables include `table` (its API clients'), if it has one."""
    found: dict[type[SQLModel], type[SQLModel]] = {}
    for mapper in sa_inspect(table).registry.mappers:
        for kind in (AuditFields, OutboxFields):
            if issubclass(mapper.class_, kind):
                found[kind] = mapper.class_
    audit, outbox = found.get(AuditFields), found.get(OutboxFields)
    if audit is None or outbox is None:
        return None
    return AuditTrail(audit, outbox, source)  # type: ignore[arg-type]


def append_only_sql(dialect: str, table: str) -> list[str]:
    """The triggers that make the audit table append-only (`append_only.append_only_sql`)."""
    return append_only.append_only_sql(dialect, table, purgeable=False)


drop_append_only_sql = append_only.drop_append_only_sql

