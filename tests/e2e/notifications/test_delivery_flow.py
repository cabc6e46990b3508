"""The notifications service against the real broker, delivering to a
school's system that verifies every webhook with the `standardwebhooks`
library: a DA incident with children at two schools, a receiver failing
before it succeeds, the same event redelivered, and the time from the
incident's publication to the school's webhook."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from contacts_e2e_kit import Kafka, data_of
from notifications_e2e_kit import NotificationsService, WebhookReceiver, incident, publish_incident, until

pytestmark = pytest.mark.e2e
DA, PERSON_KEYS = "contacts.da-incident-reported.v1", "contacts.person-keys.v1"
DELIVERED = "notifications.delivered.v1"


def to(*urns: str) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    return lambda record: data_of(record).get("recipient") in urns


async def test_two_children_at_two_schools_make_two_verified_deliveries(
    kafka: Kafka, notifications_service: NotificationsService, receiver: WebhookReceiver,
    new_urn: Callable[[], str]
) -> None:
    svc = notifications_service
    first, second = new_urn(), new_urn()
    path_1, path_2 = svc.school_with_webhook(receiver, first), svc.school_with_webhook(receiver, second)
    event = incident([{"school_urn": first, "given_name": "Alphonse"},
                      {"school_urn": second, "given_name": "Brunhild"}])
    await publish_incident(kafka, event)

    assert await until(lambda: receiver.accepted(path_1) and receiver.accepted(path_2))
    delivered = await kafka.collect(DELIVERED, to(first, second), until=lambda found: len(found) >= 2)
    [one], [two] = receiver.requests(path_1), receiver.requests(path_2)
    assert one.verified and two.verified  # signed with each school's own secret
    assert (one.json()["given_name"], two.json()["given_name"]) == ("Alphonse", "Brunhild")
    assert one.json()["police_reference"] == event.police_reference and one.json()["police_attended"] is True
    assert one.webhook_id != two.webhook_id
    assert sorted(data_of(r)["notification_id"] for r in delivered) == sorted([one.webhook_id, two.webhook_id])
    for record in delivered:
        data = data_of(record)
        assert (data["channel"], data["attempts"], data["before_deadline"]) == ("webhook", 1, True)
        assert b"Alphonse" not in (record.value or b"") and b"Brunhild" not in (record.value or b"")


async def test_a_receiver_failing_three_times_then_succeeding_gets_it_once(
    kafka: Kafka, notifications_service: NotificationsService, receiver: WebhookReceiver,
    new_urn: Callable[[], str]
) -> None:
    svc = notifications_service
    urn = new_urn()
    path = svc.school_with_webhook(receiver, urn, fail_first=3, status=500)
    event = incident([{"school_urn": urn}])
    await publish_incident(kafka, event)

    [delivered] = await kafka.collect(DELIVERED, to(urn), settle=2.0)
    assert data_of(delivered)["attempts"] == 4
    assert [r.status for r in receiver.requests(path)] == [500, 500, 500, 200]
    assert all(r.verified for r in receiver.requests(path))
    assert len(receiver.accepted_by_id(path)) == 1  # one webhook-id however often it was tried
    status = svc.delivery(data_of(delivered)["notification_id"])
    assert (status["state"], status["attempts"], status["escalated_at"]) == ("delivered", 4, None)
    assert [a["outcome"] for a in status["history"]] == ["server_error"] * 3 + ["delivered"]


async def test_the_same_incident_redelivered_makes_no_second_notification(
    kafka: Kafka, notifications_service: NotificationsService, receiver: WebhookReceiver,
    new_urn: Callable[[], str]
) -> None:
    svc = notifications_service
    urn = new_urn()
    path = svc.school_with_webhook(receiver, urn)
    event = incident([{"school_urn": urn}])
    await publish_incident(kafka, event)
    await publish_incident(kafka, event)  # the broker redelivers it (and its key)
    assert await until(lambda: receiver.accepted(path))
    await kafka.publish_event(DA, event.event, key=event.contact_id)  # and again, after the delivery
    delivered = await kafka.collect(DELIVERED, to(urn), settle=3.0)
    assert len(delivered) == 1
    assert len(receiver.requests(path)) == 1
    listed = httpx.get(f"{svc.url}/v1/deliveries", params={"recipient": urn}, headers=svc.headers(svc.mash)).json()
    assert len(listed) == 1 and listed[0]["state"] == "delivered"


async def test_the_webhook_follows_the_incident_in_well_under_a_second(
    kafka_bootstrap: str, notifications_service: NotificationsService, receiver: WebhookReceiver,
    new_urn: Callable[[], str]
) -> None:
    """Publication of the DA incident to the school's webhook arriving, one incident at a time, its child's
    key published just before it (as contacts does). The service polls its queue only every 5 s here: these
    times come from the consumer's commit waking the delivery loop."""
    svc = notifications_service
    urn = new_urn()
    path = svc.school_with_webhook(receiver, urn)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    latencies: list[float] = []
    try:
        for n in range(25):
            event = incident([{"school_urn": urn}])
            [key] = event.keys
            await producer.send_and_wait(PERSON_KEYS, key.model_dump_json().encode(),
                                         key=str(key.data.person_id).encode())  # as contacts: the key first
            value = event.event.model_dump_json().encode()
            published = time.time()
            await producer.send_and_wait(DA, value, key=event.contact_id.encode())
            assert await until(lambda: len(receiver.accepted(path)) > len(latencies), timeout=10)
            latencies.append(receiver.accepted(path)[n].at - published)
    finally:
        await producer.stop()
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]
    print(json.dumps({"da_to_webhook_ms": {"p50": round(p50 * 1000, 1), "p95": round(p95 * 1000, 1),
                                           "max": round(max(latencies) * 1000, 1), "n": len(latencies)}}))
    assert p50 < 1.0, latencies  # not the 5 s poll
    metrics = httpx.get(f"{svc.url}/metrics").text
    assert 'frontdoor_notifications_deliveries_total{channel="webhook",timing="before_deadline"}' in metrics
    assert "frontdoor_notifications_delivery_latency_seconds_bucket" in metrics
    assert 'frontdoor_notifications_deliveries_pending{age="lt_1m"}' in metrics
