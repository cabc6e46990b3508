"""One trace from the intake request to the school's webhook. A police DA
contact is posted over HTTP with a W3C traceparent; the contacts,
notifications and outcomes services (each its own app, in this process, so
one in-memory exporter sees every span) run against a broker of their own:
the school's webhook arrives verified with a `traceparent` of the same trace,
and every service's spans for it are exported in that trace (each hop's
span is the child of the traceparent its event carried), the child's data
key on contacts.person-keys.v1 (published before the incident whose sealed
fields it opens) included."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contacts_testkit import child, contact_data, nhs_number
from fastapi.testclient import TestClient
from notifications_e2e_kit import WebhookReceiver, term_dates, until
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlmodel import Session

from contacts.access import keyring as contacts_keys
from contacts.app import create_app as contacts_app
from contacts.migrations import migrate as migrate_contacts
from contacts.settings import Settings as ContactsSettings
from frontdoor_platform.clock import utc_now
from frontdoor_platform.database import build_engine as contacts_engine
from frontdoor_platform.database import build_engine as notifications_engine
from frontdoor_platform.database import for_writing
from frontdoor_platform.tracing import SERVICE_ATTRIBUTE
from frontdoor_stack.kafka_broker import KafkaBroker, free_port, run_coroutine_in_thread
from frontdoor_stack.topics import ensure_topics
from notifications.access import keyring as notifications_keys
from notifications.app import create_app as notifications_app
from notifications.migrations import migrate as migrate_notifications
from notifications.settings import Settings as NotificationsSettings
from outcomes.app import create_app as outcomes_app
from outcomes.settings import Settings as OutcomesSettings

pytestmark = pytest.mark.e2e
TRACE_ID = f"{random.getrandbits(128):032x}"
PARENT = f"00-{TRACE_ID}-{random.getrandbits(64):016x}-01"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # no service configured one in this process yet
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the provider outlives the test: it exports nothing more here


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-trace"), port=free_port(), controller_port=free_port())
    with broker:
        run_coroutine_in_thread(ensure_topics(broker.bootstrap))
        yield broker.bootstrap


def key(build: Any, migrate: Any, ring: Any, url: str, name: str, roles: set[str], **claims: Any) -> str:
    engine = build(url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        made: str = ring.create(session, name, roles, utc_now(), **claims)
    engine.dispose()
    return made


def of_trace(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.context is not None and
            format(s.context.trace_id, "032x") == TRACE_ID]


async def test_a_da_contact_is_one_trace_from_the_request_to_the_schools_webhook(
        spans: InMemorySpanExporter, bootstrap: str, tmp_path: Path) -> None:
    group = uuid.uuid4().hex[:8]
    contacts = ContactsSettings(database_url=f"sqlite:///{tmp_path / 'contacts.db'}", kafka_bootstrap=bootstrap,
                                consumer_group=f"contacts-{group}")
    notifications = NotificationsSettings(
        database_url=f"sqlite:///{tmp_path / 'notifications.db'}", kafka_bootstrap=bootstrap,
        consumer_group=f"notifications-{group}", term_dates=term_dates(tmp_path), delivery_poll_seconds=0.2,
        local_webhooks=True)  # the school's receiver is on 127.0.0.1, plain http
    outcomes = OutcomesSettings(database_url=f"sqlite:///{tmp_path / 'outcomes.db'}", kafka_bootstrap=bootstrap,
                                stream_id=f"outcomes-{group}", stream_data_dir=tmp_path / "stream")
    intake = key(contacts_engine, migrate_contacts, contacts_keys(), contacts.database_url, "police", {"intake"},
                 sources={"police"})  # a police force's key: it posts police DA incidents
    admin = key(notifications_engine, migrate_notifications, notifications_keys(), notifications.database_url,
                "admin", {"admin"})
    urn = f"{random.randrange(700_000, 799_999)}"
    with WebhookReceiver() as receiver, TestClient(contacts_app(contacts)) as front, \
            TestClient(notifications_app(notifications)) as schools, TestClient(outcomes_app(outcomes)):
        path = f"/schools/{urn}"
        as_admin = {"Authorization": f"Bearer {admin}"}
        put = schools.put(f"/v1/schools/{urn}", headers=as_admin, json={
            "name": "Trace Primary", "phase": "primary", "channel": "webhook", "webhook_url": receiver.url(path),
            "key_adults": [{"staff_id": f"dsl-{urn}"}]})
        assert put.status_code in (200, 201), put.text
        secret = schools.post(f"/v1/schools/{urn}/signing-secrets", headers=as_admin).json()["secret"]
        receiver.behave(path, secrets=[secret])
        body = contact_data(referrer_source="police", concerns=["domestic_abuse"],
                            children=[child("c1", nhs_number=nhs_number(random.randrange(10**6, 10**7)),
                                            school_urn=urn, date_of_birth="2016-04-01")],
                            da_incident={"occurred_at": "2026-11-13T21:50:00Z", "police_reference": "TRACE/1/26",
                                         "children": [{"child_ref": "c1", "present": True}]})
        posted = front.post("/v1/contacts", json=body, headers={"Authorization": f"Bearer {intake}",
                                                                "traceparent": PARENT})
        assert posted.status_code == 202, posted.text
        assert await until(lambda: receiver.accepted(path), timeout=60)
        [webhook] = receiver.accepted(path)
        assert webhook.headers["traceparent"].split("-")[1] == TRACE_ID
        assert await until(lambda: {"contacts", "notifications", "outcomes"} <= services_of(of_trace(spans)),
                           timeout=60)
    names = {(s.attributes or {}).get(SERVICE_ATTRIBUTE, "http"): s.name for s in of_trace(spans)}
    found = {s.name for s in of_trace(spans)}
    print(f"\nspans of the trace: {sorted(found)}")
    assert "POST /v1/contacts" in found  # the request's span (the FastAPI instrumentation)
    assert {"consume frontdoor.contacts.v1", "consume contacts.da-incident-reported.v1", "deliver",
            "consume contacts.recorded.v1", "consume contacts.person-keys.v1"} <= found, names
    webhook_body = json.loads(webhook.body)
    assert "traceparent" not in webhook_body  # the trace travels in the header, the body is the school's


def services_of(found: list[ReadableSpan]) -> set[str]:
    return {str((s.attributes or {}).get(SERVICE_ATTRIBUTE)) for s in found}

