"""What a school receives of a child whose fields came sealed, on a real
database (SQLite and PostgreSQL), a real HTTP receiver (verifying with
`standardwebhooks`) and a real SMTP sink: the webhook names the child once
the key opened the incident (the incident read before the key included);
a child erased (its key tombstoned) before the delivery is never sent,
by webhook or email, and nothing is escalated for it; the email never names
anyone."""

from __future__ import annotations

import random
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiosmtpd.controller import Controller
from notifications_e2e_kit import WebhookReceiver
from sealed_children import DA, PERSON_KEYS, ChildKeys, incident_data, incident_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.envelope import encode_event
from frontdoor_platform.consumer import BatchConsumer
from notifications import subscriptions
from notifications.app import rules_from
from notifications.delivery import signing
from notifications.delivery.loop import DeliveryLoop
from notifications.metrics import Metrics
from notifications.models import DeliveryRow, NotificationRow, OutboxEvent, RecipientRow, SigningSecretRow
from notifications.sealing import keys_from_environment, signing_context
from notifications.settings import Settings

PAGE_URL = "https://frontdoor.council.example/page/"
OFFSETS = iter(range(10**6))


class Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def school(engine: Engine, urn: str, channel: str, **address: str) -> str:
    now, secret = datetime.now(UTC), signing.new_secret()
    sealed = keys_from_environment().seal(secret, signing_context(urn))
    with Session(engine) as session:
        session.add(RecipientRow(recipient_id=urn, kind="school", name="Test Primary", phase="primary",
                                 channel=channel, updated_at=now, **address))
        session.add(SigningSecretRow(recipient_id=urn, secret=sealed.ciphertext, key_id=sealed.key_id, created_at=now))
        session.commit()
    return secret


def read(topic: str, value: bytes | None, key: uuid.UUID) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, next(OFFSETS), 0, 0, str(key).encode(), value, None, 0, 0, [])


def told(engine: Engine, urn: str, erase: str) -> dict[str, uuid.UUID]:
    """Two children at `urn`, the incident read before their keys; then `erase`'s key tombstoned. Their
    notifications' ids by name."""
    keys, contact, now = ChildKeys(), uuid.uuid4(), datetime.now(UTC)
    children = {name: keys.child(contact, uuid.uuid4(), given_name=name, school_urn=urn)
                for name in ("Zebedee", "Erasmus")}
    incident = incident_event(incident_data(contact, list(children.values()), now - timedelta(hours=2), now))
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", engine=engine,
                             routes=subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None),
                             outbox=OutboxEvent, metrics=Metrics())
    ids = {name: uuid.UUID(child["child_id"]) for name, child in children.items()}
    records = [read(DA, encode_event(incident), contact),
               *(read(PERSON_KEYS, keys.key_bytes(child_id), child_id) for child_id in ids.values()),
               read(PERSON_KEYS, None, ids[erase])]
    assert consumer.apply_batch(records).dead_lettered == []
    with Session(engine) as session:
        rows = session.exec(select(NotificationRow)).all()
    return {name: next(r.notification_id for r in rows if r.child_id == child_id) for name, child_id in ids.items()}


def loop(engine: Engine, **settings: Any) -> DeliveryLoop:
    config = Settings(local_webhooks=True, page_url=PAGE_URL, delivery_backoff_seconds=0.05, **settings)
    return DeliveryLoop(engine, OutboxEvent, config, Metrics(), random=random.Random(1).random)


def state(engine: Engine, notification_id: uuid.UUID) -> tuple[str, str | None]:
    with Session(engine) as session:
        row = session.get(DeliveryRow, notification_id)
        assert row is not None
        return row.state, row.last_reason


def escalations(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).where(
            col(OutboxEvent.topic) == "notifications.delivery-failed.v1")).all())


async def test_the_webhook_names_the_child_whose_key_came_and_never_sends_the_erased_one(
        engine: Engine, receiver: WebhookReceiver) -> None:
    secret = school(engine, "100001", "webhook", webhook_url=receiver.url("/hooks"))
    receiver.behave("/hooks", secrets=[secret])
    ids = told(engine, "100001", erase="Erasmus")
    assert await loop(engine).deliver_due() == 2
    [sent] = receiver.requests("/hooks")
    assert sent.verified and sent.webhook_id == str(ids["Zebedee"])
    assert (sent.json()["given_name"], sent.json()["family_name"]) == ("Zebedee", "Example")
    assert b"Erasmus" not in sent.body
    assert state(engine, ids["Zebedee"]) == ("delivered", None)
    assert state(engine, ids["Erasmus"]) == ("failed", "unsendable")  # erased: nothing to send, nobody phoned
    assert escalations(engine) == []


async def test_the_email_alert_goes_for_the_child_whose_key_came_and_names_nobody(
        engine: Engine, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    school(engine, "100001", "email", alert_email="dsl@school.example")
    ids = told(engine, "100001", erase="Erasmus")
    assert await loop(engine, smtp_host="127.0.0.1", smtp_port=port).deliver_due() == 2
    [message] = sink.messages
    assert PAGE_URL.encode() in message
    assert b"Zebedee" not in message and b"Erasmus" not in message
    assert state(engine, ids["Zebedee"]) == ("delivered", None)
    assert state(engine, ids["Erasmus"]) == ("failed", "unsendable")
