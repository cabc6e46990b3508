"""Privacy requests (privacy.requests.v1) answered through the kit's
Responder with the service's hooks, by the consumer on a real database
(SQLite and PostgreSQL): access exports the child's notifications as held,
the enrolments of the UPNs in the sealed share, the key held, the case
records and the reads; erase leaves no name, date of birth, UPN or police
reference anywhere in the database (searched byte for byte) and keeps ids,
times and the sibling's notification; rectify corrects the names; a refusal
changes nothing; a request read again is answered once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sealed_children import ChildKeys, incident_data, privacy_request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_contracts.envelope import encode_event
from frontdoor_contracts.personal import open_reply
from frontdoor_contracts.privacy import PrivacyAnswered, reply_context
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import for_writing
from notifications import directory, subscriptions
from notifications.app import rules_from
from notifications.metrics import Metrics
from notifications.models import EnrolmentRow, NotificationRow, NotificationsTable, OutboxEvent, ReadEntry
from notifications.settings import Settings

REPORTED = datetime(2026, 11, 13, 22, 40, tzinfo=UTC)
NOW = REPORTED + timedelta(hours=1)
UPN, OTHER_UPN = "H801200001001", "A123456789012"
PERSONAL = [b"Amelia", b"Testerton", b"2015-09-03", UPN.encode(), b"MPS/2026/041187"]
OFFSETS = iter(range(10**6))


def record(topic: str, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, next(OFFSETS), 0, 0, b"k", value, None, 0, len(value), [])


def envelope(event_type: str, data: dict[str, Any], source: str = "urn:frontdoor:contacts") -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": event_type,
                       "time": REPORTED.isoformat(), "data": data}).encode()


def consume(engine: Engine, *records: ConsumerRecord[bytes, bytes]) -> list[tuple[str, str]]:
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", engine=engine,
                             routes=subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None),
                             outbox=OutboxEvent, metrics=Metrics(), clock=lambda: NOW)
    return consumer.apply_batch(list(records)).dead_lettered


def seeded(engine: Engine) -> dict[str, uuid.UUID]:
    """Amelia (UPN on the roll) and her brother Oliver at school 100001, one incident; a read of hers."""
    with Session(engine) as session:
        directory.put_recipient(session, "100001", kind=directory.SCHOOL, name="School", phase="primary",
                                channel="inbox", webhook_url=None, alert_email=None, calendar=None, now=NOW)
        session.commit()
    keys, contact = ChildKeys(), uuid.uuid4()
    amelia = keys.child(contact, uuid.uuid4(), given_name="Amelia", family_name="Testerton",
                        date_of_birth="2015-09-03", upn=UPN, police_reference="MPS/2026/041187", school_urn="100001")
    oliver = keys.child(contact, uuid.uuid4(), given_name="Oliver", family_name="Brother", upn=None,
                        school_urn="100001", police_reference="MPS/2026/041188")
    enrolments = [record("schools.enrolments.v1", envelope("uk.gov.frontdoor.schools.pupil-enrolled.v1", {
        "upn": upn, "school_urn": "100001", "starts_on": "2026-09-02"}, "urn:la:test:census"))
        for upn in (UPN, OTHER_UPN)]
    key_records = [record("contacts.person-keys.v1", keys.key_bytes(uuid.UUID(c["child_id"])))
                   for c in (amelia, oliver)]
    incident = record("contacts.da-incident-reported.v1", envelope(
        "uk.gov.frontdoor.contacts.da-incident-reported.v1",
        incident_data(contact, [amelia, oliver], "2026-11-13T21:50:00Z", REPORTED)))
    assert consume(engine, *enrolments, *key_records, incident) == []
    ids = {"contact": contact, "amelia": uuid.UUID(amelia["child_id"]), "oliver": uuid.UUID(oliver["child_id"])}
    with Session(for_writing(engine)) as session:
        [note] = session.exec(select(NotificationRow).where(NotificationRow.child_id == ids["amelia"])).all()
        ids["notification"] = note.notification_id
        session.add(ReadEntry(read_id=uuid.uuid4(), at=NOW, reader="DSL-1", route="/page/notifications/{id}",
                              record=f"notification:{note.notification_id}"))
        session.commit()
    return ids


def ask(engine: Engine, kind: str, ids: dict[str, uuid.UUID], share: dict[str, Any] | None = None,
        **more: Any) -> tuple[PrivacyAnswered, X25519PrivateKey, uuid.UUID]:
    event, private = privacy_request(kind, [ids["amelia"]], contact_ids=[ids["contact"]],
                                     share={"upns": [UPN]} if share is None else share, **more)
    raw = record("privacy.requests.v1", encode_event(event))
    assert consume(engine, raw, raw) == []  # read twice: answered once
    with Session(engine) as session:
        answers = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "privacy.replies.v1")).all()
    [answer] = [a for a in answers if a.key == str(event.data.request_id)]
    return (PrivacyAnswered.model_validate(json.loads(answer.payload)["data"]), private, event.data.request_id)


def actions(answer: PrivacyAnswered) -> dict[str, tuple[str, int]]:
    return {c.retention_class: (c.action.value, c.records) for c in answer.classes}


def everything(engine: Engine) -> bytes:
    """Every row of every table, as text (a byte-for-byte search of the database)."""
    with engine.connect() as connection:
        return "\n".join(" ".join(value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                                   for value in row)
                          for table in NotificationsTable.metadata.sorted_tables
                          for row in connection.execute(text(f'SELECT * FROM "{table.name}"')).all()).encode()


def test_access_exports_what_is_held_about_the_child_and_who_read_it(engine: Engine) -> None:
    ids = seeded(engine)
    answer, private, request_id = ask(engine, "access", ids)
    assert actions(answer) == {"notifications": ("exported", 1), "enrolments": ("exported", 1),
                               "person_keys": ("exported", 1), "da_incidents": ("none_held", 0),
                               "case_records": ("exported", 2), "read_log": ("exported", 1)}
    assert answer.part is not None and b"Amelia" not in answer.part.model_dump_json().encode()
    export = open_reply(private, answer.part, reply_context(request_id, "notifications"))
    [notice] = export["classes"]["notifications"]
    assert (notice["given_name"], notice["upn"], notice["police_reference"]) == ("Amelia", UPN, "MPS/2026/041187")
    assert [e["upn"] for e in export["classes"]["enrolments"]] == [UPN]  # not the other pupil's
    assert sorted(r["table"] for r in export["classes"]["case_records"]) == ["da_children", "deliveries"]
    assert [k["person_id"] for k in export["classes"]["person_keys"]] == [str(ids["amelia"])]
    assert "key" not in json.dumps(export["classes"]["person_keys"]).replace("person_keys", "")
    assert [(r["reader"], r["record"]) for r in export["reads"]] == [("DSL-1", f"notification:{ids['notification']}")]
    assert "Oliver" not in json.dumps(export)


def test_erase_leaves_nothing_personal_about_the_child_and_keeps_ids_times_and_the_sibling(engine: Engine) -> None:
    ids = seeded(engine)
    before = everything(engine)
    assert all(value in before for value in PERSONAL)
    answer, _, _ = ask(engine, "erase", ids)
    assert actions(answer) == {"notifications": ("erased", 1), "enrolments": ("erased", 1),
                               "person_keys": ("erased", 1), "da_incidents": ("none_held", 0),
                               "case_records": ("kept", 2)}
    assert next(c.reason for c in answer.classes if c.retention_class == "case_records")  # why it was kept
    after = everything(engine)
    assert [value for value in PERSONAL if value in after] == []
    assert b"Oliver" in after and OTHER_UPN.encode() in after  # the sibling and another pupil untouched
    with Session(engine) as session:
        note = session.get(NotificationRow, ids["notification"])
        assert note is not None and note.erased_at == NOW and note.deadline is not None
        assert [e.upn for e in session.exec(select(EnrolmentRow)).all()] == [OTHER_UPN]


def test_rectify_corrects_the_childs_names_and_nothing_else(engine: Engine) -> None:
    ids = seeded(engine)
    answer, _, _ = ask(engine, "rectify", ids, share={"upns": [UPN], "corrections": {
        "given_name": "Amélie", "date_of_birth": "2015-09-04"}})
    assert actions(answer)["notifications"] == ("rectified", 1)
    with Session(engine) as session:
        notes = {n.child_id: n for n in session.exec(select(NotificationRow)).all()}
    amelia, oliver = notes[ids["amelia"]], notes[ids["oliver"]]
    assert (amelia.given_name, amelia.family_name, str(amelia.date_of_birth)) == ("Amélie", "Testerton", "2015-09-04")
    assert oliver.given_name == "Oliver"


def test_a_bad_correction_dead_letters_the_request_naming_the_field(engine: Engine) -> None:
    ids = seeded(engine)
    event, _ = privacy_request("rectify", [ids["amelia"]], share={"corrections": {"date_of_birth": "not a date"}})
    assert consume(engine, record("privacy.requests.v1", encode_event(event))) == [
        ("privacy.requests.v1", "invalid_corrections")]
    with Session(engine) as session:
        assert session.get(NotificationRow, ids["notification"]).given_name == "Amelia"  # type: ignore[union-attr]


def test_an_erasure_refused_changes_nothing_and_says_why(engine: Engine) -> None:
    ids = seeded(engine)
    before = everything(engine)
    answer, _, _ = ask(engine, "erase", ids, erasure_refused="A statutory referral is kept (case records).")
    assert {c.action.value for c in answer.classes if c.records} == {"kept"}
    assert {c.reason for c in answer.classes if c.records} == {"A statutory referral is kept (case records)."}
    assert all(value in everything(engine) for value in PERSONAL) and len(everything(engine)) >= len(before)


def test_erase_reaches_an_incident_still_waiting_for_the_childs_key(engine: Engine) -> None:
    ids = seeded(engine)
    keys, contact, lost = ChildKeys(), uuid.uuid4(), uuid.uuid4()
    child = keys.child(contact, lost, given_name="Waiting", school_urn="100001")
    assert consume(engine, record("contacts.da-incident-reported.v1", envelope(
        "uk.gov.frontdoor.contacts.da-incident-reported.v1",
        incident_data(contact, [child], "2026-11-13T21:50:00Z", REPORTED)))) == []
    answer, _, _ = ask(engine, "erase", {**ids, "amelia": lost}, share={"upns": []})
    assert actions(answer)["da_incidents"] == ("erased", 1)
    assert consume(engine, record("contacts.person-keys.v1", keys.key_bytes(lost))) == []  # a key re-sent later
    with Session(engine) as session:
        assert session.exec(select(NotificationRow).where(NotificationRow.child_id == lost)).all() == []
