"""The outcomes HTTP API in process, as a client sees it: the OpenAPI
document complete for a generated client, schemathesis on every operation
(no 5xx, every answer documented), and the kit's edge (401 before a body is
read). Outcomes' operations take no body, so 413 and hostile JSON never
reach a route of its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_conformance import edge_gaps, fuzz, openapi_gaps
from fastapi.testclient import TestClient
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from outcomes.access import keyring
from outcomes.app import create_app
from outcomes.migrations import migrate
from outcomes.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", run_consumer=False)


@pytest.fixture
def token(settings: Settings) -> str:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        made = keyring().create(session, "test-manager", {"manager", "admin"}, NOW)
    engine.dispose()
    return made


@pytest.fixture
def api(settings: Settings, token: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def test_the_openapi_document_is_complete_for_a_generated_client(api: TestClient) -> None:
    assert openapi_gaps(api.get("/openapi.json").json()) == []


def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(settings: Settings, token: str) -> None:
    # Not started here: schemathesis runs the app's lifespan itself (outcomes registers its KPI
    # collector once per lifespan, so a second one on the same app would register it twice).
    client = TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW))
    assert fuzz(client, token) == []


async def test_every_operation_refuses_a_missing_key_before_it_reads(settings: Settings, token: str) -> None:
    app = create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        assert await edge_gaps(app, token, settings.max_body_bytes) == []
