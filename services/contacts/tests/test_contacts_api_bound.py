"""The contacts API when the broker does not answer, in process: a POST
waits at most `broker_answer_seconds` for the broker's verdict, then
answers 503 with Retry-After saying it may have been recorded; the publish
goes on, and a retry with the same Idempotency-Key is the same event, which
the handlers record once (a decision's retry is 202, not 409). A record the
broker can never take is 413 or 422, not 503."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from contacts_testkit import SEALING, contact_data
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contacts import handlers
from contacts.access import keyring
from contacts.app import create_app
from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.errors import parse_event
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.kafka import Headers, OutboundRecord, RecordRefused
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DECISION = {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "w"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'contacts.db'}", run_consumer=False,
                    broker_answer_seconds=0.2)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    built = build_engine(settings.database_url)
    migrate(built)
    return built


@pytest.fixture
def headers(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        token = keyring().create(session, "test-front-door", {"intake", "decide"}, NOW, sources={"*"})
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(settings: Settings, publisher: MemoryPublisher) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, publisher=publisher, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as made:
        yield made


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


def submitted(publisher: MemoryPublisher) -> list[OutboundRecord]:
    """The contacts and decisions published (not the audit events the outbox relay publishes beside them)."""
    return [r for r in publisher.records if r.topic in ("frontdoor.contacts.v1", "frontdoor.decisions.v1")]


async def published(publisher: MemoryPublisher, count: int) -> None:
    """Until the held publishes, let go, have landed."""
    while len(submitted(publisher)) < count:
        await asyncio.sleep(0.01)


def apply(engine: Engine, settings: Settings, raw: bytes, decision: bool = False) -> handlers.Outcome:
    """A published record through the consumer's handler, as the service's consumer applies it."""
    with Session(for_writing(engine)) as session:
        if decision:
            outcome = handlers.record_decision(session, parse_event(raw, DecisionSubmitted), settings.source_uri, NOW)
        else:
            event = parse_event(raw, ContactSubmitted)
            outcome = handlers.record_contact(session, event, handlers.channel_of(event, settings.api_source),
                                              settings.source_uri, NOW, sealing=SEALING)
        session.commit()
    return outcome


def check_maybe(answer: httpx.Response) -> None:
    assert answer.status_code == 503 and answer.headers["retry-after"].isdigit()
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert "may have been recorded" in detail and "same Idempotency-Key, it is recorded once" in detail


async def test_a_broker_that_never_answers_is_503_and_the_retry_is_recorded_once(
        client: httpx.AsyncClient, headers: dict[str, str], publisher: MemoryPublisher, engine: Engine,
        settings: Settings) -> None:
    publisher.gate.clear()  # the broker takes the record but never answers
    body, key = contact_data(), {**headers, "Idempotency-Key": "c-1"}
    check_maybe(await client.post("/v1/contacts", json=body, headers=key))
    publisher.gate.set()  # the buffered record is written after all
    await published(publisher, 1)
    again = await client.post("/v1/contacts", json=body, headers=key)
    assert again.status_code == 202
    first, retried = submitted(publisher)
    assert first.key == retried.key == again.json()["contact_id"]
    assert not apply(engine, settings, first.value).duplicate
    assert apply(engine, settings, retried.value).duplicate  # recorded once


async def test_a_broker_that_refuses_is_503_nothing_recorded(client: httpx.AsyncClient, headers: dict[str, str],
                                                             publisher: MemoryPublisher) -> None:
    publisher.up = False
    answer = await client.post("/v1/contacts", json=contact_data(), headers=headers)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "nothing was recorded" in answer.json()["detail"] and submitted(publisher) == []


async def test_a_decision_recorded_after_its_503_is_202_on_retry_not_409(
        client: httpx.AsyncClient, headers: dict[str, str], publisher: MemoryPublisher, engine: Engine,
        settings: Settings) -> None:
    posted = await client.post("/v1/contacts", json=contact_data(), headers=headers)
    contact_id = uuid.UUID(posted.json()["contact_id"])
    apply(engine, settings, submitted(publisher)[0].value)
    publisher.gate.clear()
    path, key = f"/v1/contacts/{contact_id}/decision", {**headers, "Idempotency-Key": "d-1"}
    check_maybe(await client.post(path, json=DECISION, headers=key))
    publisher.gate.set()
    await published(publisher, 2)
    assert not apply(engine, settings, submitted(publisher)[1].value, decision=True).duplicate
    assert (await client.post(path, json=DECISION, headers=key)).status_code == 202
    assert len(submitted(publisher)) == 2  # recorded: not published again
    other = await client.post(path, json=DECISION, headers={**headers, "Idempotency-Key": "d-2"})
    assert other.status_code == 409


class Refusing(MemoryPublisher):
    """A publisher whose every record can never be published, for `reason`."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Headers = ()) -> None:
        raise RecordRefused(self.reason)


@pytest.mark.parametrize(("reason", "status"), [("record_too_large", 413), ("unknown_topic", 422)])
async def test_a_record_that_can_never_be_published_is_not_a_503(settings: Settings, headers: dict[str, str],
                                                                 reason: str, status: int) -> None:
    app = create_app(settings, publisher=Refusing(reason), clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post("/v1/contacts", json=contact_data(), headers=headers)
    assert answer.status_code == status and answer.headers["content-type"] == "application/problem+json"
    assert "retry-after" not in answer.headers and "nothing was recorded" in answer.json()["detail"]
