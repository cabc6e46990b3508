"""DA incidents whose children's fields are sealed with their own keys,
against the real broker and the service as a process: an incident read
before its key waits (nothing sent, nothing lost) and is delivered once when
the key comes; a key's tombstone erases the child on the school's inbox; an
incident whose sealed fields do not open with the key goes to the
dead-letter topic."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from contacts_e2e_kit import Kafka, data_of, header
from notifications_e2e_kit import (
    NotificationsService,
    WebhookReceiver,
    caught_up,
    incident,
    publish_incident,
    publish_keys,
    publish_tombstone,
    until,
)
from sealed_children import incident_event, tampered

pytestmark = pytest.mark.e2e
DA, DELIVERED = "contacts.da-incident-reported.v1", "notifications.delivered.v1"


def inbox(svc: NotificationsService, token: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{svc.url}/v1/inbox", headers=svc.headers(token), timeout=10)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()
    return found


async def test_an_incident_read_before_its_key_waits_and_is_delivered_once_when_the_key_comes(
        kafka: Kafka, notifications_service: NotificationsService, receiver: WebhookReceiver,
        new_urn: Callable[[], str]) -> None:
    svc = notifications_service
    urn = new_urn()
    path = svc.school_with_webhook(receiver, urn)
    event = incident([{"school_urn": urn, "given_name": "Keylate"}])
    await publish_incident(kafka, event, keys_first=False)
    assert await caught_up(kafka.bootstrap, svc.env["NOTIFICATIONS_CONSUMER_GROUP"], DA)  # read and committed
    assert receiver.requests(path) == []  # waiting for the key: nothing sent, no notification yet
    listed = httpx.get(f"{svc.url}/v1/deliveries", params={"recipient": urn}, headers=svc.headers(svc.mash))
    assert listed.json() == []

    published = time.time()
    await publish_keys(kafka, event)
    delivered = await kafka.collect(DELIVERED, lambda r: data_of(r).get("recipient") == urn, settle=2.0)
    assert len(delivered) == 1
    [sent] = receiver.requests(path)
    print(json.dumps({"key_after_incident_to_webhook_ms": round((sent.at - published) * 1000, 1)}))
    assert sent.verified and sent.json()["given_name"] == "Keylate"
    assert sent.json()["police_reference"] == event.police_reference


async def test_a_keys_tombstone_erases_the_child_on_the_schools_inbox(
        kafka: Kafka, notifications_service: NotificationsService, new_urn: Callable[[], str]) -> None:
    svc = notifications_service
    urn = new_urn()
    body = {"name": "E2E Inbox School", "phase": "primary", "channel": "inbox", "key_adults": []}
    assert httpx.put(f"{svc.url}/v1/schools/{urn}", json=body, headers=svc.headers(), timeout=10).status_code == 201
    token = svc.school_token(urn)
    event = incident([{"school_urn": urn, "given_name": "Toerase"}])
    await publish_incident(kafka, event)
    assert await until(lambda: len(inbox(svc, token)) == 1)
    [item] = inbox(svc, token)
    assert item["notice"]["given_name"] == "Toerase" and item["notice"]["erased"] is False  # type: ignore[index]

    [child_id] = event.child_ids
    await publish_tombstone(kafka.bootstrap, child_id)
    assert await until(lambda: inbox(svc, token)[0]["notice"]["erased"] is True)  # type: ignore[index]
    [item] = inbox(svc, token)
    notice = item["notice"]
    assert (notice["given_name"], notice["upn"], notice["police_reference"]) == (None, None, None)  # type: ignore[index]
    assert item["notification_id"] and item["deadline"]  # ids and times stay


async def test_an_incident_whose_sealed_fields_do_not_open_is_dead_lettered(
        kafka: Kafka, notifications_service: NotificationsService, new_urn: Callable[[], str]) -> None:
    urn = new_urn()
    good = incident([{"school_urn": urn}])
    data = good.event.data.model_dump(mode="json")
    broken = incident_event({**data, "children": [tampered(child) for child in data["children"]]})
    await publish_keys(kafka, good)
    await kafka.publish_event(DA, broken, key=good.contact_id)
    [letter] = await kafka.collect(f"{DA}.dlq", lambda r: good.contact_id.encode() in (r.value or b""), settle=1.0)
    assert header(letter, "dlq.reason") == "sealed_broken"
    assert header(letter, "dlq.topic") == DA
