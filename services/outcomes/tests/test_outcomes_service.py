"""The outcomes service on the kit, in process (no broker: not ready)."""

from __future__ import annotations

from pathlib import Path

from api_conformance import check_ops_without_a_broker
from fastapi.testclient import TestClient

from outcomes.app import create_app
from outcomes.settings import Settings


def test_ops_routes_metrics_problems_and_openapi(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", kafka_bootstrap="127.0.0.1:1",
                        run_consumer=False, publish_timeout_seconds=1)
    with TestClient(create_app(settings)) as client:
        check_ops_without_a_broker(client, "outcomes", "frontdoor_outcomes_outputs_total")
