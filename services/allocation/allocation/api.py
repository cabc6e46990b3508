"""HTTP surface of the allocation service: health, readiness, metrics."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Info, generate_latest

from . import __version__
from .settings import Settings

BROKER_CHECK_TIMEOUT_SECONDS = 1.0


async def broker_reachable(bootstrap: str, timeout: float = BROKER_CHECK_TIMEOUT_SECONDS) -> bool:
    """Cheap readiness check: a TCP connection to any bootstrap server."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "localhost", int(port)), timeout)
        except (OSError, ValueError, TimeoutError):
            continue
        writer.close()
        return True
    return False


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    registry = CollectorRegistry()
    build = Info("frontdoor_allocation_build", "Version of the allocation service", registry=registry)
    build.info({"version": __version__})
    Gauge("frontdoor_allocation_up", "1 while the allocation service is serving", registry=registry).set(1)
    readiness = Counter(
        "frontdoor_allocation_readiness_checks", "Readiness checks by result", ["result"], registry=registry
    )

    app = FastAPI(title="Front Door allocation", version=__version__)
    app.state.settings = settings
    app.state.registry = registry

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready = await broker_reachable(settings.kafka_bootstrap)
        readiness.labels(result="ready" if ready else "not_ready").inc()
        body = {"status": "ready" if ready else "not ready", "kafka": "reachable" if ready else "unreachable"}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
