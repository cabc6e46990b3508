"""Done means: a police contact with a domestic abuse incident, published to
frontdoor.contacts.v1 by a plain Kafka client (aiokafka, the CloudEvent
built with the `cloudevents` SDK), reaches the child's school on the stack
as `frontdoor-stack up` runs it: a Standard Webhooks delivery the demo
school system verified (with the `standardwebhooks` library) within seconds,
in that school's inbox and in no other school's; and acknowledging it
publishes notifications.acknowledged.v1. On its way the child's name, date
of birth and the police reference never travel in clear after intake: the
DA incident carries them sealed with the child's own key, which reached
notifications alone (wrapped for it) on contacts.person-keys.v1."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cloudevents.core.bindings.kafka import to_structured_event
from cloudevents.core.v1.event import CloudEvent

from frontdoor_contracts.contacts import DAIncidentReported, contact_id_for
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import PersonKeyIssued
from frontdoor_contracts.topics import (
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_PERSON_KEYS,
    FRONTDOOR_CONTACTS,
    NOTIFICATIONS_ACKNOWLEDGED,
)
from frontdoor_stack.seed import WEBHOOK
from frontdoor_stack.stack import RECEIVER, LocalStack

pytestmark = pytest.mark.e2e
WITHIN_SECONDS = 10.0  # publish to verified webhook, on a shared 2-core machine (typically well under a second)
GIVEN_NAME = "Quibble"  # synthetic, and looked for where it must never be


def police_da_contact(school_urn: str, police_reference: str) -> CloudEvent:
    """A police front-door system's contact, as plain JSON in a CloudEvents SDK event."""
    now = datetime.now(UTC)
    born = date.today() - timedelta(days=9 * 365)
    data = {
        "referrer_source": "police",
        "received_at": now.isoformat(),
        "children": [{"ref": "child-1", "given_name": GIVEN_NAME, "family_name": "Testerton",
                      "date_of_birth": born.isoformat(), "postcode": "ZZ99 3QQ", "school_urn": school_urn}],
        "adults": [{"ref": "adult-1", "given_name": "Parentina", "family_name": "Testerton",
                    "relationship": "mother"}],
        "concerns": ["domestic_abuse"],
        "da_incident": {"occurred_at": (now - timedelta(hours=3)).isoformat(), "police_reference": police_reference,
                        "children": [{"child_ref": "child-1", "present": True}]},
    }
    attributes = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:e2e:police-front-door",
                  "type": "uk.gov.frontdoor.contact.submitted.v1", "time": now, "subject": "contact",
                  "datacontenttype": "application/json"}
    return CloudEvent(attributes=attributes, data=data)


async def publish(bootstrap: str, event: CloudEvent) -> float:
    """Publish with acks=all; the time just before the send (the latency's start)."""
    message = to_structured_event(event)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        started = time.time()
        await producer.send_and_wait(FRONTDOOR_CONTACTS.name, message.value, key=str(event.get_id()).encode(),
                                     headers=list(message.headers.items()))
    finally:
        await producer.stop()
    return started


async def poll(fetch: Any, timeout: float = 30.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(fetch)
        if found is not None:
            return found
        await asyncio.sleep(every)
    return None


async def acknowledged_events(bootstrap: str, notification_id: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(NOTIFICATIONS_ACKNOWLEDGED.name, bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline, settled = time.monotonic() + timeout, None
        while time.monotonic() < (settled or deadline):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    if event.get("data", {}).get("notification_id") == notification_id:
                        found.append(event)
            if found and settled is None:
                settled = time.monotonic() + 1.5  # long enough for a duplicate to show
    finally:
        await consumer.stop()
    return found


async def records_of(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of every record on `topic` now."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    found: list[tuple[bytes | None, bytes | None]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            found += [(r.key, r.value) for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return found


async def sealed_on_the_way(bootstrap: str, contact_id: str, police_reference: str) -> None:
    """The contact's DA incident holds nothing personal in clear; its child's key went to notifications alone."""
    [raw] = [v for _, v in await records_of(bootstrap, CONTACTS_DA_INCIDENT_REPORTED.name)
             if v and contact_id.encode() in v]
    assert GIVEN_NAME.encode() not in raw and b"Testerton" not in raw and police_reference.encode() not in raw
    [child] = parse_event(raw, DAIncidentReported).data.children
    assert child.personal.key_id == child.child_id and child.present is True
    [key] = [v for k, v in await records_of(bootstrap, CONTACTS_PERSON_KEYS.name) if k == str(child.child_id).encode()]
    assert key is not None and set(parse_event(key, PersonKeyIssued).data.wrapped) == {"notifications"}


def school_key(stack: LocalStack, urn: str) -> str:
    notifications = next(p for p in stack.processes if p.spec.name == "notifications")
    return notifications.create_client(f"e2e-school-{urn}", "school", scope=urn)


async def test_a_police_da_contact_reaches_its_school_verified_and_no_other_school(
        stack: LocalStack, notifications_url: str, receiver_url: str, record_property: Any) -> None:
    assert stack.seeded is not None and stack.school_key is not None
    school = stack.seeded.demo_school()
    other = next(s for s in stack.seeded.schools if s.channel == WEBHOOK and s.urn != school.urn)
    mine = {"Authorization": f"Bearer {stack.school_key.api_key}"}
    theirs = {"Authorization": f"Bearer {school_key(stack, other.urn)}"}
    police_reference = f"E2E/{random.randrange(10**7):07d}/26"

    contact = police_da_contact(school.urn, police_reference)
    published = await publish(stack.bootstrap, contact)

    def in_inbox(headers: dict[str, str]) -> dict[str, Any] | None:
        items = httpx.get(f"{notifications_url}/v1/inbox", headers=headers, timeout=10).json()
        return next((i for i in items if i["notice"]["police_reference"] == police_reference), None)

    def arrival_of(notification_id: str) -> dict[str, Any] | None:
        response = httpx.get(f"{receiver_url}/received/{notification_id}", timeout=5)
        return response.json() if response.status_code == 200 else None

    item = await poll(lambda: in_inbox(mine))
    assert item is not None, "the notification never reached the school's inbox"
    notification_id = item["notification_id"]
    assert item["notice"]["given_name"] == GIVEN_NAME and item["notice"]["child_present"] is True
    await sealed_on_the_way(stack.bootstrap, str(contact_id_for(str(contact.get_source()), str(contact.get_id()))),
                            police_reference)
    arrival = await poll(lambda: arrival_of(notification_id))
    assert arrival is not None, "no verified webhook reached the demo school system"
    latency = arrival["received_at"] - published
    record_property("da_publish_to_verified_webhook_seconds", round(latency, 3))
    print(f"\nDA contact published -> verified webhook at the school's system: {latency * 1000:.0f} ms")
    assert arrival["verified"] is True and arrival["deliveries"] == 1
    assert 0 < latency < WITHIN_SECONDS

    # no other school sees it, nor learns that the id exists
    assert in_inbox(theirs) is None
    assert httpx.get(f"{notifications_url}/v1/inbox/{notification_id}", headers=theirs, timeout=10).status_code == 404

    # the receiver's log: one line per delivery, ids, verdicts and latencies only
    log = (stack.root / "logs" / f"{RECEIVER}.log").read_text()
    assert GIVEN_NAME not in log and police_reference not in log and "Testerton" not in log
    lines = [json.loads(line) for line in log.splitlines() if notification_id in line]
    assert lines and all(set(line) == {"webhook_id", "verified", "latency_ms"} for line in lines)
    assert any(line["verified"] is True for line in lines)

    acknowledged = httpx.post(f"{notifications_url}/v1/inbox/{notification_id}/acknowledgement", headers=mine,
                              timeout=10)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_at"] is not None
    events = await acknowledged_events(stack.bootstrap, notification_id)
    assert len(events) == 1, f"{len(events)} notifications.acknowledged.v1 events for the notification"
    assert events[0]["type"] == "uk.gov.frontdoor.notifications.acknowledged.v1"
    assert events[0]["data"]["recipient"] == school.urn
    assert events[0]["data"]["acknowledged_by"] == stack.school_key.name
