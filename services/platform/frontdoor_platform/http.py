"""What every service's HTTP API needs: who is calling (an HTTP bearer
security scheme, so OpenAPI clients and Swagger's Authorize button work),
whether their role allows it, database work off the event loop, and
back-pressure that answers 503 with Retry-After rather than queueing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from .apikeys import Caller, KeyRing
from .clock import Clock
from .problems import ProblemError

T = TypeVar("T")
bearer_scheme = HTTPBearer(auto_error=False, description="An API key of this service: `Authorization: Bearer <key>`")


@dataclass
class Auth:
    """Set as `app.state.auth` by the lifespan. `implied` says which roles a
    role brings with it (a coordinator may do what an agency may)."""

    keyring: KeyRing
    engine: Engine
    clock: Clock
    implied: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def authenticate(self, token: str) -> Caller | None:
        with Session(self.engine) as session:
            return self.keyring.authenticate(session, token, self.clock())

    def may(self, who: Caller, role: str) -> bool:
        return any(role == held or role in self.implied.get(held, frozenset()) for held in who.roles)


def _auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


async def caller(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Caller:
    auth = _auth(request)
    token = credentials.credentials.strip() if credentials is not None else ""
    who = await run_in_threadpool(auth.authenticate, token) if token else None
    if who is None:
        raise ProblemError(401, "a valid bearer API key is required", headers={"WWW-Authenticate": "Bearer"})
    return who


def requires(role: str) -> Any:
    """A dependency: the caller, if their key holds `role` (or one implying it)."""

    async def check(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
        auth = _auth(request)
        if not auth.may(who, role):
            raise ProblemError(403, f"this API key lacks the {role} role")
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
