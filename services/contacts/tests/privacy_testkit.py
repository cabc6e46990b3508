"""A child known to the contacts service in every way it can be (a police DA contact with an adult, a
decision whose rationale names her, a dead-lettered copy of her contact in the outbox, a read of her
record), privacy requests about her made as the API makes them, and answered through the kit's consumer
and Responder as the service runs them (unique module name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord
from contacts_testkit import NOW, SEALING, decision_event, make_contact, nhs_number, upn
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts import subscriptions
from contacts.metrics import Metrics
from contacts.models import OutboxEvent, ReadEntry
from contacts.privacy import requests
from contacts.privacy.requests import PrivacyAccepted, PrivacyRequestBody
from contacts.settings import Settings
from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.envelope import CloudEvent, encode_event
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_contracts.privacy import PrivacyAnswered
from frontdoor_platform import outbox
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import for_writing

SOURCE = Settings().source_uri
OFFSETS = itertools.count(1)
ADMIN = Caller(client_id=uuid.uuid4(), name="dpo-admin", roles=frozenset({"admin"}))
REQUESTS, REPLIES = "privacy.requests.v1", "privacy.replies.v1"


@dataclass(frozen=True)
class Child:
    """Her details, each unique to her in the test's database."""

    given_name: str
    family_name: str
    date_of_birth: str
    nhs_number: str
    upn: str
    postcode: str
    police_reference: str

    @classmethod
    def made(cls, seed: int) -> Child:
        return cls(f"Zorabel{seed}x", f"Quintaviel{seed}y", f"2014-0{1 + seed % 9}-2{seed % 10}",
                   nhs_number(880_000 + seed), upn(880_000 + seed), f"ZZ9{seed % 10} 9{'QWERTYUPA'[seed % 9]}Z",
                   f"TVP-PRIV-{seed:05d}")

    def details(self) -> dict[str, bytes]:
        """What must not be left in the database once she is erased."""
        return {"given name": self.given_name.encode(), "family name": self.family_name.encode(),
                "date of birth": self.date_of_birth.encode(), "NHS number": self.nhs_number.encode(),
                "UPN": self.upn.encode(), "postcode": self.postcode.encode()}


@dataclass(frozen=True)
class Known:
    child: Child
    contact: CloudEvent[Any]
    decision: CloudEvent[Any]
    contact_id: uuid.UUID


def consume(engine: Engine, topic: str, payload: bytes, now: datetime = NOW) -> None:
    """One record through the service's own routes and the kit's consumer."""
    record = ConsumerRecord(topic, 0, next(OFFSETS), 0, 0, None, payload, None, 0, 0, [])
    metrics = Metrics()
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t",
                             routes=subscriptions.routes(Settings(), metrics, sealing=SEALING), engine=engine,
                             outbox=OutboxEvent, metrics=metrics, clock=lambda: now)
    result = consumer.apply_batch([record])
    assert result.dead_lettered == [], result.dead_lettered


def known_child(engine: Engine, seed: int, decision: str = "early_help") -> Known:
    """A police DA contact about her (with her mother), a decision naming her, a dead letter of her contact,
    a read of her record; every outbox row so far published (as the relay leaves them)."""
    child = Child.made(seed)
    her = {"ref": "c1", "given_name": child.given_name, "family_name": child.family_name,
           "date_of_birth": child.date_of_birth, "nhs_number": child.nhs_number, "upn": child.upn,
           "postcode": child.postcode, "school_urn": "123456"}
    mother = {"ref": "m1", "given_name": f"Mumof{seed}", "family_name": f"Otherfam{seed}", "relationship": "mother"}
    contact = make_contact(referrer_source="police", concerns=["domestic_abuse"], children=[her], adults=[mother],
                           da_incident={"occurred_at": "2026-03-01T22:40:00+00:00",
                                        "police_reference": child.police_reference,
                                        "children": [{"child_ref": "c1", "present": True}]})
    contact_id = contact_id_for(contact.source, contact.id)
    consume(engine, "frontdoor.contacts.v1", encode_event(contact))
    made = decision_event(contact_id, decision, "2026-03-02T09:00:00+00:00",
                          rationale=f"{child.given_name} {child.family_name} was seen at school")
    consume(engine, "frontdoor.decisions.v1", encode_event(made))
    with Session(for_writing(engine)) as session:
        raw = encode_event(contact).replace(b'"received_at"', b'"received_at_typo"')
        outbox.add_record(session, OutboxEvent, "frontdoor.contacts.v1.dlq", str(contact_id), raw,
                          f"dlq-{uuid.uuid4()}", NOW)
        session.add(ReadEntry(read_id=uuid.uuid4(), at=NOW, reader="client:test-reader",
                              route="GET /v1/contacts/{contact_id}", record=f"contact:{contact_id}"))
        session.execute(update(OutboxEvent).values(published_at=NOW))
        session.commit()
    return Known(child, contact, made, contact_id)


def by_nhs(kind: str, child: Child, reply_key: str | None = None, **more: Any) -> PrivacyRequestBody:
    return PrivacyRequestBody.model_validate({"kind": kind, "reply_key": reply_key or new_reply_keys()[1],
                                              "nhs_number": child.nhs_number, **more})


def ask(engine: Engine, body: PrivacyRequestBody) -> PrivacyAccepted:
    """The request made as the route makes it (in the outbox, with its audit entry), then answered by this
    service's consumer."""
    with Session(for_writing(engine)) as session:  # it reads, then writes: the write lock first on SQLite
        accepted = requests.submit(session, body, ADMIN, SEALING, SOURCE, NOW)
        session.commit()
        row = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == REQUESTS,
                                                     col(OutboxEvent.key) == str(accepted.request_id))).one()
    consume(engine, REQUESTS, row.payload)
    return accepted


def answer(engine: Engine, request_id: uuid.UUID) -> PrivacyAnswered:
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == REPLIES,
                                                     col(OutboxEvent.key) == str(request_id))).one()
    return PrivacyAnswered.model_validate(json.loads(row.payload)["data"])


def actions(answered: PrivacyAnswered) -> dict[str, tuple[str, int]]:
    return {c.retention_class: (c.action.value, c.records) for c in answered.classes}


def redeliver(engine: Engine, known: Known) -> None:
    """The old contact and decision again (same ids): a replay of the intake topics."""
    consume(engine, "frontdoor.contacts.v1", encode_event(known.contact))
    consume(engine, "frontdoor.decisions.v1", encode_event(known.decision))
