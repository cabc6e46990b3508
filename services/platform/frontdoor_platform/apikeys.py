"""API clients: bearer keys with per-service roles, hashed at rest.

Keys are 256-bit random tokens, so a plain SHA-256 is enough at rest (no
password stretching needed): a leaked table does not give the keys. A key
can expire and can be revoked; a revoked or expired key is refused at once
(every request looks the key up: nothing is cached). A key may carry a
scope (the agency or school it acts for), which the service enforces, and,
in a service whose table has `ApiClientSources`, the sources its holder
may claim to be (contacts: an intake key's referrer sources; `all` for a
front-door system that records what any referrer said). A service's
`KeyPolicy` refuses keys that make no sense (an intake key claiming
nothing, a school key without its URN) when they are made.

A service declares its table once (`class ApiClient(ApiClientFields,
MyTable, table=True)`) and builds a `KeyRing` with its roles.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, col, select

from .database import UTCDateTime

CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")  # a staff or system id, never a person's name
ANY_SOURCE = "*"  # stored for `--sources all`: the key may claim every source (a front-door system's)


class ApiClientFields(SQLModel):
    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=100, unique=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    roles: str = Field(max_length=200)
    scope: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class ApiClientSources(SQLModel):
    """The sources a key's holder may claim to be, comma-separated (`*`: any); none: it may claim none."""

    sources: str | None = Field(default=None, max_length=300)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API client (recorded beside every write it makes)."""

    client_id: uuid.UUID
    name: str
    roles: frozenset[str]
    scope: str | None = None
    sources: frozenset[str] = frozenset()

    def may_claim(self, source: str) -> bool:
        return ANY_SOURCE in self.sources or source in self.sources


# A service's rules for the keys it issues: (roles, sources, scope) -> None, or ValueError saying what is wrong.
KeyPolicy = Callable[[frozenset[str], frozenset[str], str | None], None]


@dataclass(frozen=True)
class ClientInfo:
    name: str
    roles: str
    scope: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    sources: str | None = None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _joined(values: Iterable[str]) -> str | None:
    return ",".join(sorted(values)) or None


def _split(text: str | None) -> frozenset[str]:
    return frozenset(part for part in (text or "").split(",") if part)


class KeyRing:
    def __init__(self, table: type[ApiClientFields], roles: type[StrEnum], token_prefix: str, *,
                 sources: type[StrEnum] | None = None, policy: KeyPolicy | None = None):
        if sources is not None and not issubclass(table, ApiClientSources):
            raise TypeError("a key ring with sources needs a table with ApiClientSources")
        self.table = table
        self.roles = roles
        self.token_prefix = token_prefix
        self.sources = sources
        self.policy = policy

    def parse_sources(self, text: str) -> frozenset[str]:
        """`all`, or a comma-separated subset of the service's sources."""
        if self.sources is None:
            raise ValueError("this service's keys carry no sources")
        names = {part.strip() for part in text.split(",") if part.strip()}
        if names == {"all"}:
            return frozenset({ANY_SOURCE})
        allowed = {s.value for s in self.sources}
        if not names or names - allowed:
            raise ValueError(f"sources must be all, or a comma-separated subset of {', '.join(sorted(allowed))}")
        return frozenset(names)

    def parse_roles(self, text: str) -> frozenset[str]:
        names = {part.strip() for part in text.split(",") if part.strip()}
        allowed = {r.value for r in self.roles}
        if not names or names - allowed:
            raise ValueError(f"roles must be a comma-separated subset of {', '.join(sorted(allowed))}")
        return frozenset(names)

    def create(self, session: Session, name: str, roles: Iterable[str], now: datetime,
               expires_at: datetime | None = None, scope: str | None = None, sources: Iterable[str] = (), *,
               commit: bool = True) -> str:
        """Create a client; return its key, which is shown only this once. `commit=False` leaves the
        commit to the caller (the command line audits it in the same transaction)."""
        held, claimed = frozenset(roles), frozenset(sources)
        if not CLIENT_NAME.match(name):
            raise ValueError("name must be a staff or system identifier: letters, digits and ._:/- only")
        if scope is not None and not CLIENT_NAME.match(scope):
            raise ValueError("scope must be an identifier: letters, digits and ._:/- only")
        if claimed and (self.sources is None or claimed - {s.value for s in self.sources} - {ANY_SOURCE}):
            raise ValueError("sources must be this service's sources (see parse_sources)")
        if self.policy is not None:
            self.policy(held, claimed, scope)
        if session.exec(select(self.table.id).where(col(self.table.name) == name)).first() is not None:
            raise ValueError("a client with this name exists already")
        token = self.token_prefix + secrets.token_urlsafe(32)
        row = self.table(id=uuid.uuid4(), name=name, key_hash=hash_key(token), roles=",".join(sorted(held)),
                         scope=scope, created_at=now, expires_at=expires_at)
        if isinstance(row, ApiClientSources):
            row.sources = _joined(claimed)
        session.add(row)
        if commit:
            session.commit()
        return token

    def list(self, session: Session) -> Sequence[ClientInfo]:
        rows = session.exec(select(self.table).order_by(col(self.table.created_at))).all()
        return [ClientInfo(r.name, r.roles, r.scope, r.created_at, r.expires_at, r.revoked_at,
                           getattr(r, "sources", None)) for r in rows]

    def revoke(self, session: Session, name: str, now: datetime, *, commit: bool = True) -> bool:
        result = session.execute(update(self.table).where(col(self.table.name) == name,
                                                          col(self.table.revoked_at).is_(None))
                                 .values(revoked_at=now))
        if commit:
            session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def authenticate(self, session: Session, token: str, now: datetime) -> Caller | None:
        return self.authenticate_on(session.connection(), token, now)

    def authenticate_on(self, connection: Connection, token: str, now: datetime) -> Caller | None:
        return self.authenticate_many(connection, [token], now).get(token)

    def authenticate_many(self, connection: Connection, tokens: Iterable[str], now: datetime) -> dict[str, Caller]:
        """The callers of those tokens that are valid now, in one indexed read
        on a plain connection (no ORM objects: this runs for every request)."""
        by_hash = {hash_key(token): token for token in tokens if token.startswith(self.token_prefix)}
        if not by_hash:
            return {}
        t = self.table.__table__.c  # type: ignore[attr-defined]
        columns = [t.id, t.name, t.roles, t.scope, t.expires_at, t.revoked_at, t.key_hash]
        query = sa_select(*columns, *([t.sources] if self.sources is not None else [])).where(
            t.key_hash.in_(by_hash))
        found = {}
        for row in connection.execute(query):
            if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
                continue
            found[by_hash[row.key_hash]] = Caller(row.id, row.name, _split(row.roles), row.scope,
                                                  _split(row.sources) if self.sources is not None else frozenset())
        return found
