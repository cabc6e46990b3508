"""The contacts HTTP API in process, with a memory publisher, a real
database and a fixed clock: what a client sees for each outcome."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from api_conformance import fuzz, openapi_gaps
from contacts_testkit import child, contact_data, nhs_number
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from contacts.access import keyring
from contacts.app import create_app
from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_contracts.envelope import TRACEPARENT_PATTERN
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROLES = ("intake", "decide", "read", "admin", "privacy")


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        made = {role: keyring().create(session, f"test-{role}", {role}, NOW, sources={"*"} if role == "intake" else ())
                for role in ROLES}
        made["revoked"] = keyring().create(session, "test-revoked", {"intake"}, NOW, sources={"police"})
        keyring().revoke(session, "test-revoked", NOW)
    engine.dispose()
    return made


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def api(settings: Settings, keys: dict[str, str], publisher: MemoryPublisher) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=publisher, clock=lambda: NOW)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_202_means_the_broker_has_a_structured_cloudevent(api: TestClient, keys: dict[str, str],
                                                          publisher: MemoryPublisher) -> None:
    response = api.post("/v1/contacts", json=contact_data(), headers=bearer(keys["intake"]))
    assert response.status_code == 202
    contact_id = response.json()["contact_id"]
    assert response.headers["location"] == f"/v1/contacts/{contact_id}"
    [record] = publisher.on("frontdoor.contacts.v1")
    assert record.key == contact_id and ("content-type", b"application/cloudevents+json") in record.headers
    event = json.loads(record.value)
    assert event["specversion"] == "1.0" and event["source"] == "urn:frontdoor:contacts:api:test-intake"
    assert "subject" not in event  # absent, never null
    assert re.fullmatch(TRACEPARENT_PATTERN, event["traceparent"])  # the request's span: a trace starts here


def test_who_may_call(api: TestClient, keys: dict[str, str]) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("fdk_unknown"), bearer(keys["revoked"])):
        response = api.post("/v1/contacts", json=contact_data(), headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
    assert api.post("/v1/contacts", json=contact_data(), headers=bearer(keys["read"])).status_code == 403
    assert api.get("/v1/contacts/00000000-0000-0000-0000-000000000000",
                   headers=bearer(keys["intake"])).status_code == 403


def test_bad_input_names_the_field_never_the_value(api: TestClient, keys: dict[str, str]) -> None:
    bad = nhs_number(123)[:-1] + "0"
    response = api.post("/v1/contacts", json=contact_data(children=[child(nhs_number=bad)]),
                        headers=bearer(keys["intake"]))
    body = response.json()
    assert response.status_code == 422 and body["status"] == 422 and bad not in response.text
    assert [e["field"] for e in body["errors"]] == ["children[0].nhs_number"]
    not_json = api.post("/v1/contacts", content=b"{nope", headers={**bearer(keys["intake"]),
                                                                      "content-type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["reason"] == "json_invalid"


def test_a_broker_that_does_not_take_it_is_503_with_retry_after(api: TestClient, keys: dict[str, str],
                                                                  publisher: MemoryPublisher) -> None:
    publisher.up = False
    response = api.post("/v1/contacts", json=contact_data(), headers=bearer(keys["intake"]))
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert api.get("/readyz").json()["checks"]["broker"] is False


def test_an_idempotency_key_is_bound_to_its_body(api: TestClient, keys: dict[str, str]) -> None:
    headers = {**bearer(keys["intake"]), "Idempotency-Key": "k-1"}
    body = contact_data()
    first = api.post("/v1/contacts", json=body, headers=headers)
    again = api.post("/v1/contacts", json=body, headers=headers)
    assert again.status_code == 202 and again.json()["contact_id"] == first.json()["contact_id"]
    other = api.post("/v1/contacts", json=contact_data(concerns=["mental_health"]), headers=headers)
    assert other.status_code == 409


def test_a_decision_on_an_unknown_contact_is_404(api: TestClient, keys: dict[str, str]) -> None:
    decision = {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "w"}
    response = api.post("/v1/contacts/00000000-0000-0000-0000-000000000000/decision", json=decision,
                        headers=bearer(keys["decide"]))
    assert response.status_code == 404


@pytest.fixture
async def running(settings: Settings, keys: dict[str, str], publisher: MemoryPublisher
                  ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings.max_requests_in_flight = 4
    app = create_app(settings, publisher=publisher, clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


async def test_a_burst_past_the_limit_is_answered_503_at_once(running: tuple[FastAPI, httpx.AsyncClient],
                                                                keys: dict[str, str],
                                                                publisher: MemoryPublisher) -> None:
    _, client = running
    publisher.gate.clear()  # the broker holds every send: requests stay in flight
    posts = [asyncio.create_task(client.post("/v1/contacts", json=contact_data(), headers=bearer(keys["intake"])))
             for _ in range(10)]
    done, _ = await asyncio.wait(posts, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    while len(done) < 6:
        more, _ = await asyncio.wait(set(posts) - done, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        assert more, "the requests past the limit must be answered without waiting"
        done |= more
    refused = [t.result() for t in done]
    assert len(refused) == 6 and all(r.status_code == 503 and r.headers["retry-after"] == "1" for r in refused)
    publisher.gate.set()
    accepted = await asyncio.gather(*(set(posts) - done))
    assert [r.status_code for r in accepted] == [202] * 4 and len(publisher.on("frontdoor.contacts.v1")) == 4


def test_the_openapi_document_is_complete_for_a_generated_client(api: TestClient) -> None:
    assert openapi_gaps(api.get("/openapi.json").json()) == []


def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(api: TestClient, keys: dict[str, str]) -> None:
    with Session(for_writing(build_engine(str(api.app.state.runtime.settings.database_url)))) as session:
        token = keyring().create(session, "test-everything", set(ROLES), NOW, sources={"*"})
    assert fuzz(api, token) == []


ROUTES = [  # (method, path, role it needs)
    ("POST", "/v1/contacts", "intake"),
    ("POST", "/v1/contacts/00000000-0000-0000-0000-000000000001/decision", "decide"),
    ("GET", "/v1/contacts/00000000-0000-0000-0000-000000000001", "read"),
    ("GET", "/v1/children/00000000-0000-0000-0000-000000000001/contacts", "read"),
    ("GET", "/v1/audit?target=contact:00000000-0000-0000-0000-000000000001", "admin"),
    ("GET", "/v1/reads?record=person:00000000-0000-0000-0000-000000000001", "admin"),
    ("POST", "/v1/privacy/requests", "privacy"),
]


def body_for(path: str) -> dict[str, object] | None:
    if path == "/v1/contacts":
        return contact_data()
    if path.endswith("/decision"):
        return {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "w"}
    if path == "/v1/privacy/requests":  # nobody on the index: 404 once let through
        return {"kind": "access", "reply_key": new_reply_keys()[1], "nhs_number": nhs_number(99)}
    return None


@pytest.mark.parametrize(("method", "path", "needs"), ROUTES)
def test_authorization_matrix(api: TestClient, keys: dict[str, str], settings: Settings, method: str, path: str,
                              needs: str) -> None:
    engine = build_engine(settings.database_url)
    with Session(for_writing(engine)) as session:
        expired = keyring().create(session, f"expired-{needs}-{method}", set(ROLES), NOW - timedelta(days=30),
                                   expires_at=NOW - timedelta(days=1), sources={"*"})
    engine.dispose()
    refused = {"no key": {}, "malformed": {"Authorization": "Bearer"}, "not bearer": {"Authorization": "Basic eA=="},
               "unknown": bearer("fdk_" + "x" * 43), "revoked": bearer(keys["revoked"]), "expired": bearer(expired)}
    for name, headers in refused.items():
        answer = api.request(method, path, json=body_for(path), headers=headers)
        assert answer.status_code == 401, (name, answer.status_code)
    for role in ROLES:
        answer = api.request(method, path, json=body_for(path), headers=bearer(keys[role]))
        if role == needs:
            assert answer.status_code in (200, 202, 404), (role, answer.status_code)  # let through (an unknown id)
        else:
            assert answer.status_code == 403, (role, answer.status_code)


def test_a_decisions_idempotency_key_is_bound_to_its_body(api: TestClient, keys: dict[str, str]) -> None:
    headers = {**bearer(keys["decide"]), "Idempotency-Key": "d-1"}
    decision = {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "w"}
    path = "/v1/contacts/00000000-0000-0000-0000-000000000001/decision"
    assert api.post(path, json=decision, headers=headers).status_code == 404  # no such contact, key now bound
    assert api.post(path, json={**decision, "level_of_need": 3}, headers=headers).status_code == 409
