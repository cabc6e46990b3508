"""Anchor 3: a bare FastAPI endpoint doing the contacts intake's JSON
validation (the contracts' ContactSubmitted model) and answering 202 with a
contact id; no database, no broker. Served by uvicorn in its own process:

    python -m uvicorn frontdoor_stack.bench.anchor_fastapi:app --port P
"""

from __future__ import annotations

import asyncio
import json
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from frontdoor_contracts.contacts import ContactSubmitted
from frontdoor_contracts.errors import InvalidEvent, validate_data

from ..kafka_broker import free_port
from .context import BenchContext, with_clock
from .http_load import HttpResult, hey_fixed_rate, wrk
from .processes import PythonProcess

app = FastAPI(title="bench anchor", docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/v1/contacts", status_code=202)
async def submit_contact(request: Request) -> JSONResponse:
    try:
        validate_data(json.loads(await request.body()), ContactSubmitted)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JSONResponse(status_code=422, content={"detail": "not JSON"})
    except InvalidEvent as error:
        return JSONResponse(status_code=422, content={"detail": [e.as_dict() for e in error.errors]})
    return JSONResponse(status_code=202, content={"contact_id": str(uuid.uuid4()), "status": "accepted"})


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def measure(ctx: BenchContext) -> tuple[HttpResult, HttpResult]:
    """uvicorn in its own process; wrk at 64 connections, then hey at a fixed rate."""
    sizes = ctx.sizes
    step = ctx.progress.step("bare FastAPI: starting uvicorn", 2 * sizes.duration)
    port = free_port()
    server = PythonProcess("uvicorn", ["frontdoor_stack.bench.anchor_fastapi:app", "--host", "127.0.0.1",
                                       "--port", str(port), "--no-access-log", "--log-level", "warning"],
                           ctx.logs / "anchor-fastapi.log")
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(server.wait_http, url + "/healthz")
        step.update(0, f"wrk, {sizes.connections} connections")
        closed = await with_clock(step, 0, wrk(url + "/v1/contacts", ctx.bodies_file, sizes.duration,
                                               connections=sizes.connections))
        step.update(sizes.duration, f"hey, {sizes.rate:g} req/s")
        fixed = await with_clock(step, sizes.duration, hey_fixed_rate(url + "/v1/contacts", ctx.body_file,
                                                                      sizes.duration, rate=sizes.rate))
    finally:
        server.stop()
    ctx.progress.done(f"bare FastAPI {closed.per_second:,.0f} req/s (p99 {closed.p99_ms or 0:.1f} ms); "
                      f"at {fixed.per_second:,.0f} req/s p99 {fixed.p99_ms or 0:.1f} ms")
    return closed, fixed

