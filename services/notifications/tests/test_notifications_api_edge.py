"""The kit's HTTP edge on the notifications API, in process: 401 before a
body is read, 413 past the body limit, hostile JSON a problem, on every
operation; the schools' page (cookies and CSRF, no API key) is not an API-key
route, but its forms are bounded too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from api_conformance import CountedBody, edge_gaps
from fastapi import FastAPI
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from notifications.access import keyring
from notifications.app import create_app
from notifications.settings import Settings

NOW = datetime(2026, 11, 13, 23, 0, tzinfo=UTC)
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", run_consumer=False)


@pytest.fixture
async def started(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        yield app


async def test_every_operation_refuses_before_it_reads(settings: Settings, started: FastAPI) -> None:
    engine = build_engine(settings.database_url)  # migrated by the lifespan
    with Session(for_writing(engine)) as session:
        token = keyring().create(session, "admin-1", {"admin"}, NOW)
    engine.dispose()
    assert await edge_gaps(started, token, settings.max_body_bytes) == []


async def test_the_page_needs_no_key_and_its_forms_are_bounded(settings: Settings, started: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=started), base_url="http://test") as client:
        # No key and no session: the page's own answer (its form has expired), never the API's 401.
        form = await client.post("/page/sign-in", content=b"staff_id=dsl-a&password=x", headers=FORM)
        assert form.status_code == 403 and "text/html" in form.headers["content-type"]
        declared = await client.post("/page/sign-in", content=b"a" * (settings.max_body_bytes + 1), headers=FORM)
        assert declared.status_code == 413 and declared.headers["content-type"] == "application/problem+json"
        body = CountedBody(20 * 1024 * 1024, chunk=b"a" * 65536)
        streamed = await client.post("/page/sign-in", content=body, headers=FORM)
        assert streamed.status_code == 413 and body.pulled <= settings.max_body_bytes + len(body.chunk)
