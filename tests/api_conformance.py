"""Checks of a service's HTTP interface with tools no one here wrote: the
OpenAPI document validated by openapi-spec-validator and read as a client
generator would (every operation declares its bodies, its security and
every status it can answer, with one error body), and schemathesis
calling every operation with generated input, in process. And the kit's
edge on every operation: 401 before a body is read, 413 past the limit,
hostile JSON refused as a problem."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

PROBLEM = "application/problem+json"
OPS_PATHS = {"/healthz", "/readyz", "/metrics"}
MB = 1024 * 1024
# What a careless or hostile client may send as JSON: each must be a 4xx problem, never a 500.
HOSTILE_JSON: dict[str, bytes] = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested 1,000 deep (within orjson's limit, past Python's)": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "a 5,000-digit integer": b'{"n": ' + b"9" * 5000 + b"}",
    "an integer past 64 bits": b'{"n": 18446744073709551616}',
    "NaN": b'{"n": NaN}',
    "Infinity": b'{"n": -Infinity}',
    "a number past a double": b'{"n": 1e400}',
    "invalid UTF-8": b'{"s": "\xff\xfe"}',
    "a lone surrogate": b'{"s": "\\ud800"}',
    "a byte order mark": b'\xef\xbb\xbf{"s": 1}',
    "a duplicate key": b'{"s": 1, "s": 2}',
    "a duplicate key, escaped": b'{"s": 1, "\\u0073": 2}',
}


def openapi_gaps(document: dict[str, Any]) -> list[str]:
    """What a generated client could not rely on; empty when nothing."""
    validate(document)
    gaps = []
    schemes = document.get("components", {}).get("securitySchemes", {})
    bearer = [name for name, s in schemes.items() if s.get("type") == "http" and s.get("scheme") == "bearer"]
    if not bearer and set(document["paths"]) - OPS_PATHS:
        gaps.append("no HTTP bearer security scheme")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            responses = operation.get("responses", {})
            for status, response in responses.items():
                content = response.get("content", {})
                if status.startswith("2") and status != "204" and not any("schema" in c for c in content.values()):
                    gaps.append(f"{label}: {status} has no body schema")
                if status[0] in "45" and path not in OPS_PATHS and PROBLEM not in content:
                    gaps.append(f"{label}: {status} is not declared as {PROBLEM}")
            if path in OPS_PATHS:
                continue
            if not operation.get("security"):
                gaps.append(f"{label}: no security requirement")
            for status in ("401", "403"):
                if status not in responses:
                    gaps.append(f"{label}: {status} not declared")
            if (operation.get("parameters") or operation.get("requestBody")) and "422" not in responses:
                gaps.append(f"{label}: 422 not declared")
            if operation.get("requestBody") and "413" not in responses:
                gaps.append(f"{label}: 413 not declared")
            body = operation.get("requestBody", {}).get("content", {})
            if operation.get("requestBody") and "schema" not in body.get("application/json", {}):
                gaps.append(f"{label}: request body has no JSON schema")
    return gaps


def fuzz(client: TestClient, token: str, examples: int = 25) -> list[str]:
    """schemathesis on every operation: no 5xx, every answer as documented,
    auth not ignored, bad input refused. Valid-by-schema input may still be
    refused: check digits (NHS number, UPN) cannot be written in JSON Schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(session=client, headers={"Authorization": f"Bearer {token}"},
                                   excluded_checks=[schemathesis.checks.positive_data_acceptance])

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    return failures


def check_ops_without_a_broker(client: TestClient, service: str, own_metric: str) -> None:
    """A service started with no broker: alive, not ready (and says why),
    its metrics (the kit's and its own) served, unknown routes a problem."""
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": True, "broker": False, "outbox": True, "consumer": True}
    metrics = client.get("/metrics").text
    assert f"frontdoor_{service}_consumer_lag" in metrics and own_metric in metrics
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["status"] == 404
    assert openapi_gaps(client.get("/openapi.json").json()) == []


class CountedBody:
    """A streamed (chunked) request body that counts what the app pulled of it."""

    def __init__(self, size: int, chunk: bytes = b"{" * (64 * 1024)):
        self.size, self.chunk, self.pulled = size, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.size:
            self.pulled += len(self.chunk)
            yield self.chunk


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000001", path)


def _refused(label: str, answer: httpx.Response, status: int) -> list[str]:
    if answer.status_code != status or answer.headers.get("content-type") != PROBLEM:
        return [f"{label}: {answer.status_code} {answer.headers.get('content-type')}, not {status} as a problem"]
    return []


async def edge_gaps(app: FastAPI, token: str, max_body_bytes: int) -> list[str]:
    """The kit's edge on every operation of a started app (its lifespan
    running): without a key, 401 before a byte of a 20 MB malformed body is
    read; with one, 413 for a body over the limit (by Content-Length, and
    streamed: reading stops near the limit) and a problem for every hostile
    JSON body, refused by the edge itself. Empty when nothing is wrong."""
    gaps: list[str] = []
    key = {"Authorization": f"Bearer {token}"}
    json_type = {"content-type": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for path, item in app.openapi()["paths"].items():
            for method, operation in item.items():
                label, url = f"{method.upper()} {path}", _concrete(path)
                if operation.get("security"):
                    body = CountedBody(20 * MB)
                    answer = await client.request(method, url, content=body, headers=json_type)
                    gaps += _refused(f"{label} without a key", answer, 401)
                    if answer.headers.get("www-authenticate") != "Bearer" or body.pulled:
                        gaps.append(f"{label} without a key: {body.pulled} bytes read, no Bearer challenge")
                if "requestBody" not in operation:
                    continue
                declared = await client.request(method, url, content=b"{" * (max_body_bytes + 1),
                                                 headers={**key, **json_type})
                gaps += _refused(f"{label} with Content-Length past the limit", declared, 413)
                for headers in (json_type, {"content-type": "application/octet-stream"}):
                    body = CountedBody(20 * MB)
                    answer = await client.request(method, url, content=body, headers={**key, **headers})
                    gaps += _refused(f"{label} streamed past the limit as {headers['content-type']}", answer, 413)
                    if body.pulled > max_body_bytes + len(body.chunk):
                        gaps.append(f"{label}: {body.pulled} bytes read of a streamed body over the limit")
                for name, raw in HOSTILE_JSON.items():
                    answer = await client.request(method, url, content=raw, headers={**key, **json_type})
                    gaps += _refused(f"{label} with {name}", answer, 422)
                    reasons = [e.get("reason", "") for e in answer.json().get("errors", [])]
                    if not reasons or not reasons[0].startswith("json_"):
                        gaps.append(f"{label} with {name}: not refused as JSON ({reasons})")
    return gaps
