"""The contacts HTTP API against the real broker: 202 only after the
broker has the event, 401/403/404/409/422, and 503 when the broker is down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from contacts_e2e_kit import ContactsService, Kafka, data_of, metric, start_contacts, stop
from contacts_testkit import child, contact_data, nhs_number

from frontdoor_stack.kafka_broker import free_port

pytestmark = pytest.mark.e2e
RECORDED = "contacts.recorded.v1"


def post_contact(service: ContactsService, body: object, token: str | None = None, **headers: str) -> httpx.Response:
    return httpx.post(f"{service.url}/v1/contacts", json=body, headers=service.headers(token, **headers), timeout=30)


async def test_202_then_recorded_decided_and_readable(kafka: Kafka, contacts_service: ContactsService) -> None:
    body = contact_data(children=[child(nhs_number=nhs_number(6060))], referrer_source="health_visitor")
    response = post_contact(contacts_service, body)
    assert response.status_code == 202
    contact_id = response.json()["contact_id"]
    assert response.headers["location"] == f"/v1/contacts/{contact_id}"
    # 202 means the broker had it: the service records it from the topic.
    recorded = await kafka.collect(RECORDED, lambda r: data_of(r).get("contact_id") == contact_id)
    assert len(recorded) == 1 and data_of(recorded[0])["channel"] == "api"

    decision = {"decision": "early_help", "level_of_need": 3, "rationale": "needs family support",
                "decided_by": "mash-worker-3"}
    decided = httpx.post(f"{contacts_service.url}/v1/contacts/{contact_id}/decision", json=decision,
                         headers=contacts_service.headers(), timeout=30)
    assert decided.status_code == 202
    events = await kafka.collect("contacts.decided.v1", lambda r: data_of(r).get("contact_id") == contact_id)
    assert len(events) == 1 and data_of(events[0])["decision"] == "early_help"
    assert data_of(events[0])["referral"] is False

    view = httpx.get(f"{contacts_service.url}/v1/contacts/{contact_id}",
                     headers=contacts_service.headers(contacts_service.read_only_token)).json()
    assert view["decision"]["decision"] == "early_help"
    # Every write names the API client that made it, beside the name its body carries.
    assert view["recorded_by"] == "e2e-front-door" and view["decision"]["recorded_by"] == "e2e-front-door"
    assert view["decision"]["decided_by"] == "mash-worker-3"
    child_id = view["children"][0]["person_id"]
    history = httpx.get(f"{contacts_service.url}/v1/children/{child_id}/contacts", headers=contacts_service.headers())
    assert history.status_code == 200
    assert [c["contact_id"] for c in history.json()["contacts"]] == [contact_id]
    again = httpx.post(f"{contacts_service.url}/v1/contacts/{contact_id}/decision", json=decision,
                       headers=contacts_service.headers(), timeout=30)
    assert again.status_code == 409


async def test_idempotency_key_makes_retries_safe(kafka: Kafka, contacts_service: ContactsService) -> None:
    body = contact_data()
    key = f"retry-{uuid.uuid4()}"
    first = post_contact(contacts_service, body, **{"Idempotency-Key": key})
    second = post_contact(contacts_service, body, **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    contact_id = first.json()["contact_id"]
    assert second.json()["contact_id"] == contact_id
    recorded = await kafka.collect(RECORDED, lambda r: data_of(r).get("contact_id") == contact_id, settle=3)
    assert len(recorded) == 1
    changed = post_contact(contacts_service, contact_data(concerns=["mental_health"]), **{"Idempotency-Key": key})
    assert changed.status_code == 409


def test_credentials_are_checked(contacts_service: ContactsService) -> None:
    url = f"{contacts_service.url}/v1/contacts"
    assert httpx.post(url, json=contact_data()).status_code == 401
    assert httpx.post(url, json=contact_data(), headers={"Authorization": "Bearer fdk_wrong"}).status_code == 401
    forbidden = post_contact(contacts_service, contact_data(), token=contacts_service.read_only_token)
    assert forbidden.status_code == 403
    assert httpx.get(f"{contacts_service.url}/v1/contacts/{uuid.uuid4()}").status_code == 401
    missing = httpx.get(f"{contacts_service.url}/v1/contacts/{uuid.uuid4()}", headers=contacts_service.headers())
    assert missing.status_code == 404
    intake_only = contacts_service.headers(contacts_service.intake_only_token)
    assert httpx.get(f"{contacts_service.url}/v1/contacts/{uuid.uuid4()}", headers=intake_only).status_code == 403
    children = f"{contacts_service.url}/v1/children/{uuid.uuid4()}/contacts"
    assert httpx.get(children, headers=intake_only).status_code == 403
    decide = f"{contacts_service.url}/v1/contacts/{uuid.uuid4()}/decision"
    assert httpx.post(decide, json={}, headers=intake_only).status_code == 403


def test_bad_input_gets_field_errors_without_the_values(contacts_service: ContactsService) -> None:
    bad_nhs = "9434765918"
    response = post_contact(contacts_service, contact_data(children=[child(nhs_number=bad_nhs, given_name="Zedd")]))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors == [{"field": "children[0].nhs_number", "reason": "value_error",
                       "message": "NHS number fails the modulus 11 check"}]
    assert bad_nhs not in response.text and "Zedd" not in response.text
    no_child = post_contact(contacts_service, contact_data(children=[]))
    assert no_child.status_code == 422 and no_child.json()["errors"][0]["field"] == "children"
    not_json = httpx.post(f"{contacts_service.url}/v1/contacts", content=b"{nope", headers=contacts_service.headers())
    assert not_json.status_code == 422
    decide_url = f"{contacts_service.url}/v1/contacts/{uuid.uuid4()}/decision"
    decision = {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "w"}
    unknown = httpx.post(decide_url, headers=contacts_service.headers(), json=decision)
    assert unknown.status_code == 404
    bad_level = httpx.post(decide_url, headers=contacts_service.headers(), json={**decision, "level_of_need": 7})
    assert bad_level.status_code == 422 and bad_level.json()["errors"][0]["field"] == "level_of_need"
    not_a_uuid = httpx.get(f"{contacts_service.url}/v1/contacts/SECRET-REF-123", headers=contacts_service.headers())
    assert not_a_uuid.status_code == 422 and "SECRET" not in not_a_uuid.text


@pytest.fixture
def contacts_without_broker(tmp_path: Path) -> Iterator[ContactsService]:
    process, service = start_contacts(tmp_path, f"127.0.0.1:{free_port()}", wait_ready=False)
    yield service
    stop(process)


def test_503_when_the_broker_is_down(contacts_without_broker: ContactsService) -> None:
    response = post_contact(contacts_without_broker, contact_data())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    ready = httpx.get(f"{contacts_without_broker.url}/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] is False


async def test_metrics_count_what_happened(kafka: Kafka, contacts_service: ContactsService) -> None:
    received = 'frontdoor_contacts_received_total{channel="api",source="gp"}'
    dead = 'frontdoor_contacts_dead_lettered_total{reason="not_json",topic="frontdoor.contacts.v1"}'
    before = (metric(contacts_service, received), metric(contacts_service, dead))
    contact_id = post_contact(contacts_service, contact_data(referrer_source="gp")).json()["contact_id"]
    await kafka.collect(RECORDED, lambda r: data_of(r).get("contact_id") == contact_id, settle=0)
    key = f"metrics-{uuid.uuid4()}"
    await kafka.publish("frontdoor.contacts.v1", b"not json", key=key)
    await kafka.collect("frontdoor.contacts.v1.dlq", lambda r: r.key == key.encode(), settle=0.5)
    assert metric(contacts_service, received) == before[0] + 1
    assert metric(contacts_service, dead) == before[1] + 1
    assert metric(contacts_service, "frontdoor_contacts_batch_seconds_count") > 0
