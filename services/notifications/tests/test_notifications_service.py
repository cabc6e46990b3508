"""The notifications service on the kit, in process (no broker: not ready)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_conformance import openapi_gaps
from fastapi.testclient import TestClient

from notifications.app import create_app
from notifications.settings import Settings


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", kafka_bootstrap="127.0.0.1:1",
                        run_consumer=False, publish_timeout_seconds=1)
    with TestClient(create_app(settings)) as client:
        yield client


def test_ops_routes(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {
        "database": True, "broker": False, "outbox": True, "consumer": True}
    metrics = api.get("/metrics").text
    assert "frontdoor_notifications_consumer_lag" in metrics
    assert "frontdoor_notifications_children_reported_total" in metrics


def test_an_unknown_route_answers_a_problem(api: TestClient) -> None:
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_the_openapi_document_is_complete_for_a_generated_client(api: TestClient) -> None:
    assert openapi_gaps(api.get("/openapi.json").json()) == []
