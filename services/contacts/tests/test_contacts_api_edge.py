"""The kit's HTTP edge on the contacts API, in process: 401 before a body
is read, 413 past the body limit, hostile JSON a problem, on every operation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from api_conformance import CountedBody, edge_gaps
from contacts_testkit import contact_data
from sqlalchemy import create_engine
from sqlmodel import Session

from contacts.access import keyring
from contacts.app import create_app
from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def token(settings: Settings) -> str:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        made = keyring().create(session, "test-intake", {"intake"}, NOW, sources={"*"})
    engine.dispose()
    return made


async def test_every_operation_refuses_before_it_reads(settings: Settings, token: str) -> None:
    app = create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        assert await edge_gaps(app, token, settings.max_body_bytes) == []


async def test_the_limit_is_a_setting_and_an_honest_contact_passes(settings: Settings, token: str) -> None:
    settings.max_body_bytes = 2048
    publisher = MemoryPublisher()
    app = create_app(settings, publisher=publisher, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        key = {"Authorization": f"Bearer {token}"}
        honest = await client.post("/v1/contacts", json=contact_data(), headers=key)
        assert honest.status_code == 202 and len(publisher.on("frontdoor.contacts.v1")) == 1
        over = await client.post("/v1/contacts", json=contact_data(concerns=["neglect"] * 300), headers=key)
        assert over.status_code == 413 and "2048 bytes" in over.json()["detail"]
        body = CountedBody(10 * 1024 * 1024, chunk=b"{" * 1024)
        streamed = await client.post("/v1/contacts", content=body, headers=key)
        assert streamed.status_code == 413 and body.pulled <= 2048 + 1024
    assert len(publisher.on("frontdoor.contacts.v1")) == 1


async def test_keys_that_cannot_be_looked_up_are_503_not_a_bad_body(settings: Settings, token: str) -> None:
    app = create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        app.state.auth.engine.dispose()
        app.state.auth.engine = create_engine("sqlite:////nonexistent/dir/contacts.db")  # the database is gone
        key = {"Authorization": f"Bearer {token}"}
        answers = [await client.post("/v1/contacts", json=contact_data(), headers=key),  # the edge looks it up
                   await client.get(f"/v1/contacts/{uuid.uuid4()}", headers=key)]  # no body: the dependency does
    for answer in answers:
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        assert answer.json()["detail"] == "API keys cannot be checked now; retry shortly"
