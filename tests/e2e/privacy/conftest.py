"""A stack of its own for the privacy end-to-end test (as `frontdoor-stack up` starts it, on free ports: the
real broker, the four services, the dev keys and the seeded directory), and one synthetic child taken
through it: a police contact with a DA incident (the child named by UPN, their school found from their
enrolment), a MASH decision for Early Help whose rationale names the child, the family's case allocated,
offered, accepted and closed through the allocation API, the DA notification delivered to the school, and
a read of the child's record in each service's API. `journey` holds the ids, the original records (to be
redelivered after the erasure) and the KPI report then. The child, the journey and the evidence's helpers:
privacy_e2e_kit.py."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.topics import (
    CONTACTS_DA_INCIDENT_REPORTED,
    FRONTDOOR_CONTACTS,
    SCHOOLS_ENROLMENTS,
    all_topics,
)
from frontdoor_stack.acls import SERVICE_GROUPS
from frontdoor_stack.case_worker import plan_case
from frontdoor_stack.kafka_broker import free_port
from frontdoor_stack.services import SERVICES, ServiceSpec
from frontdoor_stack.stack import LocalStack, key_with_role

from .privacy_e2e_kit import Child, Journey, poll

CE_HEADERS = [("content-type", b"application/cloudevents+json")]


def url_of(stack: LocalStack, service: str) -> str:
    return next(f"http://127.0.0.1:{s.port}" for s in stack.services if s.name == service)


def bearer(stack: LocalStack, service: str, role: str) -> dict[str, str]:
    key = key_with_role(stack.credentials, service, role)
    assert key is not None, f"the stack made no {service} key with the {role} role"
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def flow(stack: LocalStack) -> SimpleNamespace:
    """What the test module calls on the stack (a conftest's functions are not importable by a test)."""
    return SimpleNamespace(
        stack=stack, url=lambda service: url_of(stack, service), got=got,
        bearer=lambda service, role: bearer(stack, service, role), kpis=lambda trip: kpis(stack, trip),
        publish=lambda topic, value, key, headers=None: asyncio.run(publish(stack.bootstrap, topic, value, key,
                                                                             headers)),
        reads=lambda service, topic: bool(asyncio.run(committed(stack.bootstrap, SERVICE_GROUPS[service][0], topic))),
        wait_consumed=lambda service, topic: wait_consumed(stack.bootstrap, service, topic))


def got(url: str, headers: dict[str, str]) -> Any:
    """The JSON of a 200, else None."""
    answer = httpx.get(url, headers=headers, timeout=10)
    return answer.json() if answer.status_code == 200 else None


def wait_ready(url: str) -> None:
    poll(lambda: httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200, f"{url} ready")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root: Path = tmp_path_factory.mktemp("privacy-stack")
    running = LocalStack(root=root, kafka_port=free_port(), controller_port=free_port(),
                         services=tuple(ServiceSpec(spec.name, free_port()) for spec in SERVICES),
                         receiver_port=free_port(), smtp_port=free_port(),
                         extra_env={"NOTIFICATIONS_LOCAL_WEBHOOKS": "true",  # the demo school system: 127.0.0.1
                                    "OUTCOMES_STREAM_DATA_DIR": str(root / "data" / "outcomes-stream")})
    running.start(say=lambda _: None)
    try:
        for process in running.processes:
            wait_ready(f"http://127.0.0.1:{process.spec.port}")
        yield running
    finally:
        running.stop()


async def publish(bootstrap: str, topic: str, value: bytes, key: bytes,
                  headers: list[tuple[str, bytes]] | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or CE_HEADERS)
    finally:
        await producer.stop()


def partitions_of(topic: str) -> list[TopicPartition]:
    """The topic's partitions, as declared (the stack made it so)."""
    spec = next(spec for spec in all_topics() if spec.name == topic)
    return [TopicPartition(topic, partition) for partition in range(spec.partitions)]


async def committed(bootstrap: str, group: str, topic: str) -> dict[TopicPartition, int]:
    """`group`'s committed offsets on `topic` (none: the group does not read it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def consumed(bootstrap: str, group: str, topic: str) -> bool:
    """Has `group` committed every partition of `topic` to its end (everything there now was applied)?"""
    done = await committed(bootstrap, group, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions_of(topic))
    finally:
        await consumer.stop()
    return all(end == 0 or done.get(tp, -1) >= end for tp, end in ends.items())


def wait_consumed(bootstrap: str, service: str, topic: str) -> None:
    group = SERVICE_GROUPS[service][0]
    poll(lambda: asyncio.run(consumed(bootstrap, group, topic)), f"{service} consumed {topic}", every=0.5)


def police_contact(child: Child, mother: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:e2e:police-front-door",
            "type": "uk.gov.frontdoor.contact.submitted.v1", "time": now.isoformat(), "subject": "contact",
            "datacontenttype": "application/json", "data": {
                "referrer_source": "police", "received_at": now.isoformat(),
                "children": [{"ref": "child-1", "given_name": child.given_name, "family_name": child.family_name,
                              "date_of_birth": child.date_of_birth, "nhs_number": child.nhs_number,
                              "upn": child.upn, "postcode": child.postcode}],
                "adults": [{"ref": "adult-1", "given_name": "Parentina", "family_name": mother,
                            "relationship": "mother"}],
                "concerns": ["domestic_abuse"],
                "da_incident": {"occurred_at": (now - timedelta(hours=3)).isoformat(),
                                "police_reference": child.police_reference,
                                "children": [{"child_ref": "child-1", "present": True}]}}}


def enrolment(child: Child, urn: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:e2e:school-mis",
            "type": "uk.gov.frontdoor.schools.pupil-enrolled.v1", "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": {"upn": child.upn, "school_urn": urn, "starts_on": "2025-09-03"}}


async def da_record(bootstrap: str, contact_id: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]] | None:
    """The DA incident contacts published about the contact, as it is on the topic."""
    consumer = AIOKafkaConsumer(CONTACTS_DA_INCIDENT_REPORTED.name, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        for records in (await consumer.getmany(timeout_ms=2000)).values():
            for r in records:
                if r.value and json.loads(r.value).get("data", {}).get("contact_id") == contact_id:
                    return r.value, r.key or b"", [(k, bytes(v)) for k, v in r.headers]
    finally:
        await consumer.stop()
    return None


@pytest.fixture(scope="module")
def journey(stack: LocalStack) -> Journey:
    child = Child.made(random.Random())
    assert stack.seeded is not None and stack.school_key is not None
    school = stack.seeded.demo_school()
    asyncio.run(publish(stack.bootstrap, SCHOOLS_ENROLMENTS.name, json.dumps(enrolment(child, school.urn)).encode(),
                        school.urn.encode()))
    wait_consumed(stack.bootstrap, "notifications", SCHOOLS_ENROLMENTS.name)
    event = police_contact(child, mother=Child.made(random.Random()).family_name)
    raw = json.dumps(event).encode()
    asyncio.run(publish(stack.bootstrap, FRONTDOOR_CONTACTS.name, raw, event["id"].encode()))
    trip = Journey(child, raw, event["id"].encode(), str(contact_id_for(event["source"], event["id"])))
    contacts, reader = url_of(stack, "contacts"), bearer(stack, "contacts", "read")
    view = poll(lambda: got(f"{contacts}/v1/contacts/{trip.contact_id}", reader), "the contact recorded")
    trip.person_id, trip.family_id = view["children"][0]["person_id"], view["family_id"]
    decided = httpx.post(f"{contacts}/v1/contacts/{trip.contact_id}/decision",
                         headers=bearer(stack, "contacts", "decide"),
                         json={"decision": "early_help", "level_of_need": 3, "decided_by": "mash-e2e",
                               "rationale": f"{child.given_name} {child.family_name} (born {child.date_of_birth}) "
                                            "was present at the incident; the school reports a change in mood."},
                         timeout=10)
    assert decided.status_code == 202, decided.text
    work_the_case(stack, trip)
    trip.notification_id = school_notified(stack, trip)
    trip.da_record = poll(lambda: asyncio.run(da_record(stack.bootstrap, trip.contact_id)), "the DA incident record")
    read_on_the_way(stack, trip)
    end = datetime.now(UTC) + timedelta(days=1)
    trip.window = ((end - timedelta(days=60)).isoformat(), end.isoformat())
    trip.kpis = poll(lambda: settled_kpis(stack, trip), "the KPI report counting the child's case")
    return trip


def work_the_case(stack: LocalStack, trip: Journey) -> None:
    """The family's Early Help case: allocated, offered, accepted and closed through the allocation API."""
    allocation, coordinator = url_of(stack, "allocation"), bearer(stack, "allocation", "coordinator")

    def case() -> dict[str, Any] | None:
        board = httpx.get(f"{allocation}/v1/cases", params={"family_id": trip.family_id}, headers=coordinator,
                          timeout=10)
        cases = board.json().get("cases", []) if board.status_code == 200 else []
        return cases[0] if cases else None

    trip.case_id = str(poll(case, "the family's case opened")["case_id"])
    plan = plan_case(trip.case_id, seed=1)
    moves = [("allocation", {"lead_agency_id": plan.lead_agency_id, "agency_kind": plan.agency_kind.value,
                             "lead_professional_ref": plan.lead_professional_ref, "at_meeting": True}),
             ("offer", {}), ("answer", {"answer": "accepted"}), ("closure", {"outcome": plan.outcome.value})]
    for move, body in moves:
        done = httpx.post(f"{allocation}/v1/cases/{trip.case_id}/{move}", json=body, headers=coordinator, timeout=10)
        assert done.status_code == 200, f"{move}: {done.status_code} {done.text}"


def school_notified(stack: LocalStack, trip: Journey) -> str:
    """The DA notification in the school's inbox (found through the enrolment); its id."""
    assert stack.school_key is not None
    mine = {"Authorization": f"Bearer {stack.school_key.api_key}"}
    notifications = url_of(stack, "notifications")

    def item() -> dict[str, Any] | None:
        items = httpx.get(f"{notifications}/v1/inbox", headers=mine, timeout=10).json()
        return next((i for i in items if i["notice"].get("police_reference") == trip.child.police_reference), None)

    return str(poll(item, "the DA notification in the school's inbox")["notification_id"])


def read_on_the_way(stack: LocalStack, trip: Journey) -> None:
    """One read of the child's record in each service's API (each is in its read log)."""
    assert stack.school_key is not None
    reads = [(url_of(stack, "contacts"), f"/v1/contacts/{trip.contact_id}", bearer(stack, "contacts", "read")),
             (url_of(stack, "notifications"), f"/v1/inbox/{trip.notification_id}",
              {"Authorization": f"Bearer {stack.school_key.api_key}"}),
             (url_of(stack, "allocation"), f"/v1/cases/{trip.case_id}", bearer(stack, "allocation", "read")),
             (url_of(stack, "outcomes"), f"/v1/families/{trip.family_id}", bearer(stack, "outcomes", "manager"))]
    for base, path, headers in reads:
        poll(lambda base=base, path=path, headers=headers: got(f"{base}{path}", headers), f"a read of {path}")


def kpis(stack: LocalStack, trip: Journey) -> dict[str, Any]:
    answer = httpx.get(f"{url_of(stack, 'outcomes')}/v1/kpis", params={"start": trip.window[0], "end": trip.window[1]},
                       headers=bearer(stack, "outcomes", "manager"), timeout=10)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    report.pop("generated_at", None)
    return report


def settled_kpis(stack: LocalStack, trip: Journey) -> dict[str, Any] | None:
    report = kpis(stack, trip)
    counted = (report["contacts"]["total"] == 1 and report["decisions"]["total"] == 1
               and report["closures"]["cases"] == 1 and report["spa_to_offer"]["offers"] == 1)
    return report if counted else None
