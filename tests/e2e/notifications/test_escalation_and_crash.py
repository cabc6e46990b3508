"""The notifications service against the real broker when things go wrong:
a school's system down past the margin before the deadline is escalated to
the MASH once (notifications.delivery-failed.v1 and the worklist) and still
delivered when it comes back; and the service SIGKILLed with a queue of
deliveries to a slow receiver resumes, each notification delivered and
marked delivered exactly once."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from contacts_e2e_kit import Kafka, data_of
from notifications_e2e_kit import (
    WebhookReceiver,
    incident,
    kill_notifications,
    publish_incident,
    publish_keys,
    start_notifications,
    stop_notifications,
    until,
)

from frontdoor_stack.kafka_broker import free_port

pytestmark = pytest.mark.e2e
DA = "contacts.da-incident-reported.v1"
DELIVERED = "notifications.delivered.v1"
FAILED = "notifications.delivery-failed.v1"


def to(*urns: str) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    return lambda record: data_of(record).get("recipient") in urns


async def test_a_school_system_down_past_the_margin_is_escalated_once_and_delivered_when_back(
    kafka: Kafka, kafka_bootstrap: str, receiver: WebhookReceiver, new_urn: Callable[[], str], tmp_path: Path
) -> None:
    # Deadlines are a month away (the kit's term dates); a 70-day margin puts every one inside it.
    service = start_notifications(tmp_path, kafka_bootstrap, {"NOTIFICATIONS_ESCALATION_MARGIN_MINUTES": "100000",
                                                              "NOTIFICATIONS_DELIVERY_MAX_ATTEMPTS": "1000"})
    try:
        urn = new_urn()
        service.put_school(urn, f"http://127.0.0.1:{free_port()}/down")  # nothing listens there
        secret = service.new_secret(urn)
        event = incident([{"school_urn": urn}])
        await publish_incident(kafka, event)

        [failed] = await kafka.collect(FAILED, to(urn), settle=2.0)
        data = data_of(failed)
        assert (data["reason"], data["channel"], data["kind"]) == ("deadline_near", "webhook", "da_incident")
        assert data["attempts"] >= 1
        assert b"Testchild" not in (failed.value or b"") and event.police_reference.encode() not in failed.value
        items = [i for i in service.worklist() if i["notification_id"] == data["notification_id"]]
        assert [(i["kind"], i["reason"], i["recipient_id"]) for i in items] == [
            ("delivery_failed", "deadline_near", urn)]
        status = service.delivery(data["notification_id"])
        assert status["state"] == "pending" and {a["outcome"] for a in status["history"]} == {"connection"}

        # The school's system comes back (at a new address): still delivered, and escalated only once.
        path = f"/schools/{urn}"
        receiver.behave(path, secrets=[secret])
        service.put_school(urn, receiver.url(path))
        [delivered] = await kafka.collect(DELIVERED, to(urn), settle=1.0)
        assert data_of(delivered)["notification_id"] == data["notification_id"]
        assert [r.verified for r in receiver.requests(path)] == [True]
        assert len(await kafka.collect(FAILED, to(urn), settle=1.0)) == 1
    finally:
        stop_notifications(service)


async def test_killed_with_a_queue_of_deliveries_each_is_delivered_and_marked_once(
    kafka: Kafka, kafka_bootstrap: str, receiver: WebhookReceiver, new_urn: Callable[[], str], tmp_path: Path
) -> None:
    service = start_notifications(tmp_path, kafka_bootstrap)
    try:
        urns = (new_urn(), new_urn())
        paths = [service.school_with_webhook(receiver, urn, delay=0.25) for urn in urns]  # a slow school system
        events = [incident([{"school_urn": urns[0]}, {"school_urn": urns[1]}]) for _ in range(100)]
        await publish_keys(kafka, *events)
        await kafka.publish_events(DA, [e.event for e in events])
        total = 2 * len(events)

        def accepted() -> Counter[str]:
            return receiver.accepted_by_id(paths[0]) + receiver.accepted_by_id(paths[1])

        assert await until(lambda: len(accepted()) >= 40, timeout=60)
        kill_notifications(service)  # the API and its worker, mid-send
        at_kill = len(accepted())
        assert at_kill < total, "the queue emptied before the kill: nothing was tested"
        service = start_notifications(tmp_path, kafka_bootstrap, previous=service)
        assert await until(lambda: len(accepted()) >= total, timeout=120), len(accepted())

        delivered = await kafka.collect(
            DELIVERED, to(*urns), timeout=60, settle=3.0,
            until=lambda found: len({data_of(r)["notification_id"] for r in found}) >= total)
        # A record published twice by the outbox relay (killed between the broker's ack and marking the
        # row) is the same event, byte for byte; a second "delivered" mark would be another event
        # (another delivered_at and attempt count).
        events_by_notification: dict[str, set[bytes]] = defaultdict(set)
        for record in delivered:
            events_by_notification[data_of(record)["notification_id"]].add(record.value or b"")
        received = accepted()
        assert len(received) == total  # the receiver's dedupe count: one per notification
        assert set(events_by_notification) == set(received)
        assert all(len(versions) == 1 for versions in events_by_notification.values())  # marked delivered once
        log = service.log.read_text()
        assert "delivery result not recorded" not in log  # no result refused (a second mark would be)
        assert "Testchild" not in log and events[0].police_reference not in log  # no personal data
        resent = sorted(n for n in received.values() if n > 1)
        # Only sends in flight at the kill can reach the school twice (same webhook-id: it dedupes).
        assert len(resent) <= 16 and max(received.values()) <= 2
        print(json.dumps({"crash": {"notifications": total, "accepted_before_kill": at_kill,
                                    "resent_after_restart": len(resent),
                                    "delivered_records_on_kafka": len(delivered)}}))
    finally:
        stop_notifications(service)
