"""The ops routes every service serves the same way: `/healthz` (alive),
`/readyz` (every named check passes now) and `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

Check = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_SECONDS = 2.0


@dataclass
class Ops:
    registry: CollectorRegistry
    checks: Mapping[str, Check] = field(default_factory=dict)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]


def _ops(request: Request) -> Ops:
    ops: Ops = request.app.state.ops
    return ops


async def _run(check: Check) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except Exception:
        return False


def ops_router() -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz(request: Request) -> JSONResponse:
        ops = _ops(request)
        names = list(ops.checks)
        results = await asyncio.gather(*(_run(ops.checks[name]) for name in names))
        checks = dict(zip(names, results, strict=True))
        ready = all(results)
        return JSONResponse(Readiness(ready=ready, checks=checks).model_dump(), status_code=200 if ready else 503)

    @router.get("/metrics", response_class=Response,
                responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
    def metrics(request: Request) -> Response:
        # A plain function: FastAPI runs it in a worker thread, so a
        # collector that queries the database never blocks the event loop.
        return Response(generate_latest(_ops(request).registry), media_type=CONTENT_TYPE_LATEST)

    return router
