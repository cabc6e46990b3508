"""What every service's HTTP API needs: who is calling (an HTTP bearer
security scheme, so OpenAPI clients and Swagger's Authorize button work;
`edge.py` checks the key before a body is read), whether their role allows
it, database work off the event loop, and back-pressure that answers 503
with Retry-After rather than queueing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from .apikeys import Caller, KeyRing
from .clock import Clock
from .database import for_writing
from .problems import HTTPProblem, ProblemError

T = TypeVar("T")
log = logging.getLogger("frontdoor.http")
bearer_scheme = HTTPBearer(auto_error=False, description="An API key of this service: `Authorization: Bearer <key>`")
# Where the edge (`edge.py`) leaves the caller it found, so `caller` does not look the key up again.
CALLER_SCOPE_KEY = "frontdoor.caller"
NO_VALID_KEY = "a valid bearer API key is required"
CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass
class Auth:
    """Set as `app.state.auth` by the lifespan. `implied` says which roles a
    role brings with it (a coordinator may do what an agency may).

    Every request's key is looked up in the database after the request
    arrived (a revoked key is refused at once), but the requests that
    arrive together share one look-up: one query and one trip to a worker
    thread for a burst, not one each (each trip costs the event loop a GIL
    hand-over, and under load those dominated the API's time)."""

    keyring: KeyRing
    engine: Engine
    clock: Clock
    implied: Mapping[str, frozenset[str]] = field(default_factory=dict)
    _waiting: list[tuple[str, asyncio.Future[Caller | None]]] = field(default_factory=list, init=False)
    _draining: asyncio.Task[None] | None = field(default=None, init=False)

    def _lookup(self, tokens: set[str]) -> dict[str, Caller]:
        with self.engine.connect() as connection:
            return self.keyring.authenticate_many(connection, tokens, self.clock())

    async def caller_of(self, token: str) -> Caller | None:
        future: asyncio.Future[Caller | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((token, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                found = await run_in_threadpool(self._lookup, {token for token, _ in batch})
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for token, future in batch:
                if not future.done():
                    future.set_result(found.get(token))

    def may(self, who: Caller, role: str) -> bool:
        return any(role == held or role in self.implied.get(held, frozenset()) for held in who.roles)


def _auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def bearer_token(authorization: str | None) -> str:
    """The key in an `Authorization: Bearer <key>` header ("" when there is none), read as HTTPBearer reads it."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if scheme.lower() == "bearer" else ""


async def holder_of(auth: Auth, token: str) -> Caller | None:
    """Whose key this is (None: no valid key). Keys that cannot be looked up
    now (the database down) are 503 with Retry-After: not the caller's fault.
    An HTTPProblem, so it passes through FastAPI's body reading (the edge)."""
    if not token:
        return None
    try:
        return await auth.caller_of(token)
    except Exception as exc:
        log.error("API keys could not be looked up", extra={"error": type(exc).__name__})
        raise HTTPProblem(503, "API keys cannot be checked now; retry shortly", headers={"Retry-After": "1"}
                          ) from None


async def caller(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Caller:
    """Who is calling. For a route with a body the edge looked the key up
    before reading it and left the caller in the scope; a route without
    one (its body never read) or an app without the edge looks it up here."""
    found = request.scope.get(CALLER_SCOPE_KEY)
    if isinstance(found, Caller):
        return found
    who = await holder_of(_auth(request), credentials.credentials.strip() if credentials is not None else "")
    if who is None:
        raise ProblemError(401, NO_VALID_KEY, headers=CHALLENGE)
    return who


def requires(role: str) -> Any:
    """A dependency: the caller, if their key holds `role` (or one implying it)."""

    async def check(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
        auth = _auth(request)
        if not auth.may(who, role):
            raise ProblemError(403, f"this API key lacks the {role} role")
        return who

    return check


def requires_any(*roles: str) -> Any:
    """A dependency: the caller, if their key holds any of `roles`."""

    async def check(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
        if not any(_auth(request).may(who, role) for role in roles):
            raise ProblemError(403, f"this API key lacks the {' or '.join(roles)} role")
        return who

    return check


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """Run blocking work (the database) in a worker thread."""
    return await run_in_threadpool(work, *args)


class Gate:
    """At most `limit` requests of a kind in flight; the next is answered
    503 with Retry-After at once, so a burst gets answers, never a hang."""

    def __init__(self, limit: int, retry_after_seconds: int = 1):
        self._free = asyncio.Semaphore(limit)
        self._retry_after = retry_after_seconds

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        if self._free.locked():
            raise ProblemError(503, "too many requests in flight; retry shortly",
                               headers={"Retry-After": str(self._retry_after)})
        async with self._free:
            yield


def _engine(request: Request) -> Engine:
    return _auth(request).engine


def read_session(request: Request) -> Iterator[Session]:
    """A dependency: a session on the service's engine, for reads."""
    with Session(_engine(request)) as db:
        yield db


def write_session(request: Request) -> Iterator[Session]:
    """A dependency: a session that writes (SQLite: BEGIN IMMEDIATE, see `database.for_writing`)."""
    with Session(for_writing(_engine(request))) as db:
        yield db


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


async def app_runtime(request: Request) -> Any:
    """A dependency: what the running service is made of (`app.state.runtime`, set by its lifespan).
    Each service names it with its own type: `RuntimeDep = Annotated[Runtime, Depends(app_runtime)]`."""
    return request.app.state.runtime
