"""The stack on a secured broker, as `FRONTDOOR_KAFKA_SECURITY=sasl_ssl frontdoor-stack up` starts it (the
stack's own code, a broker of its own, not the session's plaintext one): SASL SCRAM-SHA-512 over TLS from the
stack's CA, a principal per service and per outside system, the ACLs generated from the topic declarations.

- the services work on it: a police contact with a DA incident, written by the front-door systems' principal,
  is recorded by contacts (contacts.recorded.v1) and reaches the child's school through notifications;
- the authorization matrix, every principal x every declared topic x read/write (and every service x every
  service's consumer group), is what the declarations say, answered by the broker itself;
- a client without credentials, with TLS but no SASL, or with a wrong password is refused (aiokafka, and
  Debian's kcat as an independent client);
- `frontdoor-stack privacy access` reads every service's answer from `privacy.replies.v1`, which no service
  may read, as the stack's admin."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.metadata import MetadataRequest

from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.topics import CONTACTS_RECORDED, FRONTDOOR_CONTACTS, all_topics
from frontdoor_stack.acls import SERVICE_GROUPS, principals
from frontdoor_stack.kafka_broker import free_port
from frontdoor_stack.services import SERVICES, ServiceSpec
from frontdoor_stack.stack import LocalStack

pytestmark = pytest.mark.e2e
TOPICS = all_topics()
TOPIC_AUTHORIZATION_FAILED = 29


def wait_ready(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} was not ready within {timeout:.0f}s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = LocalStack(root=tmp_path_factory.mktemp("secured-stack"), kafka_port=free_port(),
                         controller_port=free_port(),
                         services=tuple(ServiceSpec(spec.name, free_port()) for spec in SERVICES),
                         receiver_port=free_port(), smtp_port=free_port(), secured=True,
                         extra_env={"NOTIFICATIONS_LOCAL_WEBHOOKS": "true"})  # the demo school system: 127.0.0.1
    running.start(say=lambda _: None)
    try:
        for process in running.processes:
            wait_ready(f"http://127.0.0.1:{process.spec.port}")
        yield running
    finally:
        running.stop()


def connection(stack: LocalStack, name: str) -> dict[str, Any]:
    assert stack.access is not None
    return stack.access.connection(name).client_kwargs()


def police_da_contact(school_urn: str, police_reference: str, given_name: str = "Quibble") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:e2e:police-front-door",
            "type": "uk.gov.frontdoor.contact.submitted.v1", "time": now.isoformat(), "subject": "contact",
            "datacontenttype": "application/json", "data": {
                "referrer_source": "police", "received_at": now.isoformat(),
                "children": [{"ref": "child-1", "given_name": given_name, "family_name": "Testerton",
                              "date_of_birth": (date.today() - timedelta(days=9 * 365)).isoformat(),
                              "postcode": "ZZ99 3QQ", "school_urn": school_urn}],
                "adults": [{"ref": "adult-1", "given_name": "Parentina", "family_name": "Testerton",
                            "relationship": "mother"}],
                "concerns": ["domestic_abuse"],
                "da_incident": {"occurred_at": (now - timedelta(hours=3)).isoformat(),
                                "police_reference": police_reference,
                                "children": [{"child_ref": "child-1", "present": True}]}}}


async def recorded(stack: LocalStack, contact_id: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """contacts.recorded.v1 events of the contact, read as outcomes (a consumer of it)."""
    consumer = AIOKafkaConsumer(CONTACTS_RECORDED.name, bootstrap_servers=stack.bootstrap, group_id=None,
                                auto_offset_reset="earliest", **connection(stack, "outcomes"))
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [event for event in (json.loads(r.value or b"{}") for r in records)
                          if event.get("data", {}).get("contact_id") == contact_id]
    finally:
        await consumer.stop()
    return found


async def send_contact(stack: LocalStack, event: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", enable_idempotence=True,
                                **connection(stack, "front-door-systems"))
    await producer.start()
    try:
        await producer.send_and_wait(FRONTDOOR_CONTACTS.name, json.dumps(event).encode(), key=event["id"].encode(),
                                     headers=[("content-type", b"application/cloudevents+json")])
    finally:
        await producer.stop()


async def test_the_services_run_the_flow_on_the_secured_broker(stack: LocalStack) -> None:
    assert stack.seeded is not None and stack.school_key is not None
    school = stack.seeded.demo_school()
    reference = f"SEC/{random.randrange(10**7):07d}/26"
    event = police_da_contact(school.urn, reference)
    await send_contact(stack, event)
    contact_id = str(contact_id_for(event["source"], event["id"]))
    assert len(await recorded(stack, contact_id)) == 1  # contacts consumed it and published, as itself

    notifications = next(s for s in stack.services if s.name == "notifications")
    mine = {"Authorization": f"Bearer {stack.school_key.api_key}"}
    deadline, item = time.monotonic() + 60, None
    while item is None and time.monotonic() < deadline:
        items = httpx.get(f"{notifications.base_url}/v1/inbox", headers=mine, timeout=10).json()
        item = next((i for i in items if i["notice"]["police_reference"] == reference), None)
        await asyncio.sleep(0.2)
    assert item is not None, "the DA incident never reached the school through notifications"
    receipt = f"http://127.0.0.1:{stack.receiver_port}/received/{item['notification_id']}"
    deadline, arrival = time.monotonic() + 30, None
    while arrival is None and time.monotonic() < deadline:
        response = httpx.get(receipt, timeout=5)
        arrival = response.json() if response.status_code == 200 else None
        await asyncio.sleep(0.2)
    assert arrival is not None and arrival["verified"] is True


async def test_the_privacy_command_reads_the_answers_as_the_stacks_admin(stack: LocalStack) -> None:
    assert stack.seeded is not None
    event = police_da_contact(stack.seeded.demo_school().urn, "SEC/0000001/26", given_name=f"Sec{uuid.uuid4().hex[:8]}")
    await send_contact(stack, event)
    assert len(await recorded(stack, str(contact_id_for(event["source"], event["id"])))) == 1
    child = event["data"]["children"][0]
    contacts = next(s for s in stack.services if s.name == "contacts")
    done = subprocess.run([str(Path(sys.executable).parent / "frontdoor-stack"), "--run-dir", str(stack.root),
                           "privacy", "access", "--given-name", child["given_name"], "--family-name", "Testerton",
                           "--date-of-birth", child["date_of_birth"], "--postcode", child["postcode"], "--bootstrap",
                           stack.bootstrap, "--contacts-url", contacts.base_url, "--timeout", "120"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 of 4 services answered" in done.stdout and child["given_name"] not in done.stdout + done.stderr


# -- the authorization matrix ---------------------------------------------------------------------------------------

async def readable(stack: LocalStack, name: str) -> set[str]:
    """The declared topics `name` may read, as the broker answers: metadata refused (no rights at all), or a
    fetch refused (it may only write), or records (or none) fetched."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap, **connection(stack, name))
    await admin.start()
    try:
        described = {t["topic"]: t["error_code"] for t in await admin.describe_topics([s.name for s in TOPICS])}
    finally:
        await admin.close()
    assert set(described.values()) <= {0, TOPIC_AUTHORIZATION_FAILED}
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None, enable_auto_commit=False,
                                **connection(stack, name))
    await consumer.start()
    found = set()
    try:
        for topic in sorted(t for t, code in described.items() if code == 0):
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            try:
                await consumer.seek_to_beginning(partition)
                await consumer.getmany(partition, timeout_ms=200)
                found.add(topic)
            except TopicAuthorizationFailedError:
                pass
    finally:
        await consumer.stop()
    return found


async def writable(stack: LocalStack, name: str) -> set[str]:
    """The declared topics `name` may write: an empty record (any consumer dead-letters it) taken or refused."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", enable_idempotence=True,
                                request_timeout_ms=10000, **connection(stack, name))
    await producer.start()
    found = set()
    try:
        for spec in TOPICS:
            try:
                await producer.send_and_wait(spec.name, b"", key=b"matrix")
                found.add(spec.name)
            except TopicAuthorizationFailedError:
                pass
    finally:
        await producer.stop()
    return found


async def groups_usable(stack: LocalStack, name: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap, **connection(stack, name))
    await admin.start()
    found = set()
    try:
        for group in (g for groups in SERVICE_GROUPS.values() for g in groups):
            try:
                await admin.list_consumer_group_offsets(group)
                found.add(group)
            except GroupAuthorizationFailedError:
                pass
    finally:
        await admin.close()
    return found


async def test_every_principal_reads_and_writes_exactly_what_the_declarations_say(
        stack: LocalStack, record_property: Any) -> None:
    allowed = refused = 0
    for name in principals():
        reads, writes = await readable(stack, name), await writable(stack, name)
        assert reads == {s.name for s in TOPICS if name in s.consumers}, name
        assert writes == {s.name for s in TOPICS if name in s.producers}, name
        allowed += len(reads) + len(writes)
        refused += 2 * len(TOPICS) - len(reads) - len(writes)
        if name in SERVICE_GROUPS:
            assert await groups_usable(stack, name) == set(SERVICE_GROUPS[name]), name
    cells = len(principals()) * len(TOPICS) * 2
    record_property("kafka_matrix", f"{cells} cells: {allowed} allowed, {refused} refused")
    print(f"\nKafka authorization matrix: {len(principals())} principals x {len(TOPICS)} topics x read/write = "
          f"{cells} cells, {allowed} allowed, {refused} refused by the broker")
    assert allowed + refused == cells and allowed > 0


async def test_the_issues_two_refusals_come_from_the_broker(stack: LocalStack) -> None:
    """allocation (no right on it) cannot read contacts.da-incident-reported.v1, even in its own group; contacts
    cannot write schools.enrolments.v1 (only the schools' MIS may)."""
    reader = AIOKafkaConsumer("contacts.da-incident-reported.v1", bootstrap_servers=stack.bootstrap,
                              group_id="allocation", **connection(stack, "allocation"))
    with pytest.raises(TopicAuthorizationFailedError):
        await reader.start()
    await reader.stop()
    writer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", enable_idempotence=True,
                              **connection(stack, "contacts"))
    await writer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await writer.send_and_wait("schools.enrolments.v1", b"{}", key=b"100000")
    finally:
        await writer.stop()


# -- clients without credentials --------------------------------------------------------------------------------------

async def attempt(stack: LocalStack, **options: Any) -> None:
    host, port = stack.bootstrap.split(":")
    conn = await create_conn(host, int(port), request_timeout_ms=5000, **options)
    try:
        await conn.send(MetadataRequest([]))
    finally:
        conn.close()


async def test_a_client_without_credentials_is_refused(stack: LocalStack) -> None:
    assert stack.access is not None
    context = stack.access.admin.ssl_context()
    with pytest.raises(KafkaConnectionError):
        await attempt(stack)  # plaintext
    with pytest.raises(KafkaConnectionError):
        await attempt(stack, security_protocol="SSL", ssl_context=context)  # TLS, no SASL
    sasl = {"security_protocol": "SASL_SSL", "ssl_context": context, "sasl_mechanism": "SCRAM-SHA-512"}
    for username, password in (("allocation", "not-its-password"), ("nobody", "x")):
        with pytest.raises(SaslAuthenticationFailed):
            await attempt(stack, sasl_plain_username=username, sasl_plain_password=password, **sasl)
    await attempt(stack, sasl_plain_username="allocation", sasl_plain_password=stack.access.passwords["allocation"],
                  **sasl)  # the same door with the right password: answered


def kcat(*options: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("kcat")
    assert found is not None, "kcat is not installed (make test installs Debian's kcat)"
    return subprocess.run([found, *options], capture_output=True, text=True, timeout=60)


def test_kcat_without_credentials_is_refused(stack: LocalStack) -> None:
    assert stack.access is not None
    plain = kcat("-b", stack.bootstrap, "-L", "-m", "5")
    assert plain.returncode != 0 and "Failed to acquire metadata" in plain.stderr
    tls_only = kcat("-b", stack.bootstrap, "-L", "-m", "5", "-X", "security.protocol=SSL",
                    "-X", f"ssl.ca.location={stack.access.ca_file}")
    assert tls_only.returncode != 0 and "Failed to acquire metadata" in tls_only.stderr
    wrong = kcat("-b", stack.bootstrap, "-L", "-m", "5", "-X", "security.protocol=SASL_SSL",
                 "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=allocation",
                 "-X", "sasl.password=not-its-password", "-X", f"ssl.ca.location={stack.access.ca_file}")
    assert wrong.returncode != 0 and "SASL authentication error" in wrong.stderr
