"""Checks of a service's HTTP interface with tools no one here wrote: the
OpenAPI document validated by openapi-spec-validator and read as a client
generator would (every operation declares its bodies, its security and
every status it can answer, with one error body), and schemathesis
calling every operation with generated input, in process."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

PROBLEM = "application/problem+json"
OPS_PATHS = {"/healthz", "/readyz", "/metrics"}


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
