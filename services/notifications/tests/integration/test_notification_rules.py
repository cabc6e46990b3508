"""DA incidents and allocation events through the kit's consumer into
notifications, the MASH worklist and the delivery queue, on a real database
(SQLite and PostgreSQL); then acknowledgement, the unacknowledged timer and
retention."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sealed_children import ChildKeys, incident_data
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import for_writing
from notifications import directory, inbox, subscriptions, timers
from notifications.app import rules_from
from notifications.metrics import Metrics
from notifications.models import DAChildRow, DeliveryRow, NotificationRow, OutboxEvent, WorklistRow
from notifications.settings import Settings

REPORTED = datetime(2026, 11, 13, 22, 40, tzinfo=UTC)  # a Friday night in term
NEXT_MONDAY = datetime(2026, 11, 16, 8, 30, tzinfo=UTC)  # 08:30 Europe/London (GMT in November)
NOW = REPORTED + timedelta(seconds=2)
CONTACT = uuid.UUID("2f91dc18-06c5-5150-a789-4a84ed5f23f5")


@pytest.fixture
def keys() -> ChildKeys:
    """This test's children's data keys (sealed_children: the contacts service's sealing, for tests)."""
    return ChildKeys()


def child(keys: ChildKeys, name: str, **fields: Any) -> dict[str, Any]:
    """A child sealed with its key (the key records go first: `with_keys`)."""
    return keys.child(CONTACT, uuid.uuid5(CONTACT, name), **{
        "given_name": name, "family_name": "Testerton", "date_of_birth": "2015-09-03",
        "police_reference": "MPS/2026/041187", **fields})


def record(topic: str, offset: int, event_type: str, data: dict[str, Any], event_id: str = "e1",
           ) -> ConsumerRecord[bytes, bytes]:
    source = "urn:la:test:census" if topic == "schools.enrolments.v1" else f"urn:frontdoor:{topic.split('.')[0]}"
    value = json.dumps({"specversion": "1.0", "id": event_id, "source": source, "type": event_type,  # its producer
                        "time": REPORTED.isoformat(), "data": data}).encode()
    return ConsumerRecord(topic, 0, offset, 0, 0, None, value, None, 0, len(value), [])


def incident(offset: int, *children: dict[str, Any]) -> ConsumerRecord[bytes, bytes]:
    return record("contacts.da-incident-reported.v1", offset, "uk.gov.frontdoor.contacts.da-incident-reported.v1",
                  incident_data(CONTACT, list(children), "2026-11-13T21:50:00Z", REPORTED))


def with_keys(keys: ChildKeys, *children: dict[str, Any]) -> list[ConsumerRecord[bytes, bytes]]:
    """The children's key records (contacts.person-keys.v1), as contacts publishes them before the incident."""
    found = {c["child_id"]: c for c in children}
    return [record("contacts.person-keys.v1", n, "uk.gov.frontdoor.contacts.person-key-issued.v1",
                   keys.key_event(uuid.UUID(child_id)).data.model_dump(mode="json"), event_id=f"k-{child_id}")
            for n, child_id in enumerate(found)]


def consume(engine: Engine, *records: ConsumerRecord[bytes, bytes], now: datetime = NOW) -> list[tuple[str, str]]:
    woken: list[int] = []
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t",
                             routes=subscriptions.routes(rules_from(Settings()), Metrics(), lambda: woken.append(1)),
                             engine=engine, outbox=OutboxEvent, metrics=Metrics(), clock=lambda: now)
    return consumer.apply_batch(list(records)).dead_lettered


def school(engine: Engine, urn: str, channel: str = "webhook", calendar: dict[str, Any] | None = None) -> None:
    with Session(engine) as session:
        directory.put_recipient(session, urn, kind=directory.SCHOOL, name=f"School {urn}", phase="primary",
                                channel=channel, webhook_url="http://127.0.0.1:1/hook", alert_email=None,
                                calendar=calendar, now=NOW)
        session.commit()


def rows(engine: Engine, table: Any) -> list[Any]:
    with Session(engine) as session:
        return list(session.exec(select(table)).all())


def topics(engine: Engine) -> list[str]:
    return sorted(row.topic for row in rows(engine, OutboxEvent))


def test_two_children_at_two_schools_give_two_notifications_once_however_often_redelivered(
        engine: Engine, keys: ChildKeys) -> None:
    school(engine, "100001")
    school(engine, "100002", channel="inbox")
    amelia, oliver = (child(keys, "Amelia", school_urn="100001"),
                      child(keys, "Oliver", school_urn="100002", present=False))
    assert consume(engine, *with_keys(keys, amelia, oliver), incident(0, amelia, oliver),
                   incident(1, amelia, oliver)) == []  # redelivered in a batch
    assert consume(engine, incident(2, amelia, oliver)) == []  # and again later
    notes = sorted(rows(engine, NotificationRow), key=lambda n: n.recipient_id)
    assert [(n.recipient_id, n.given_name, n.child_present, n.deadline) for n in notes] == [
        ("100001", "Amelia", True, NEXT_MONDAY), ("100002", "Oliver", False, NEXT_MONDAY)]
    channels = {d.notification_id: d.channel for d in rows(engine, DeliveryRow)}
    assert channels == {notes[0].notification_id: "webhook", notes[1].notification_id: "inbox"}
    assert {r.resolution for r in rows(engine, DAChildRow)} == {"on_event"}
    assert "notifications.school-unknown.v1" not in topics(engine)


def test_a_school_day_override_moves_the_deadline(engine: Engine, keys: ChildKeys) -> None:
    school(engine, "100003", calendar={"closed_days": ["2026-11-16"], "starts_at": "08:45"})  # an INSET Monday
    amelia = child(keys, "Amelia", school_urn="100003")
    assert consume(engine, *with_keys(keys, amelia), incident(0, amelia)) == []
    [note] = rows(engine, NotificationRow)
    assert note.deadline == datetime(2026, 11, 17, 8, 45, tzinfo=UTC)


def test_a_child_with_nothing_reaches_the_mash_worklist_and_a_school_unknown_event(
        engine: Engine, keys: ChildKeys) -> None:
    school(engine, "100001")
    unknown = child(keys, "Nobody")
    elsewhere = child(keys, "Elsewhere", school_urn="100099")  # a URN the directory does not hold
    baby = child(keys, "Baby", date_of_birth="2026-01-01")  # not of school age, in no setting
    assert consume(engine, *with_keys(keys, unknown, elsewhere, baby), incident(0, unknown, elsewhere, baby),
                   incident(1, unknown, elsewhere, baby)) == []
    assert rows(engine, NotificationRow) == []
    items = sorted((w.kind, w.reason, str(w.child_id)) for w in rows(engine, WorklistRow))
    assert items == sorted([("school_unknown", "no_school_on_record", unknown["child_id"]),
                            ("school_unknown", "school_not_in_directory", elsewhere["child_id"])])
    assert topics(engine) == ["notifications.school-unknown.v1"] * 2
    resolutions = {str(r.child_id): r.resolution for r in rows(engine, DAChildRow)}
    assert resolutions == {unknown["child_id"]: "unknown", elsewhere["child_id"]: "unknown",
                           baby["child_id"]: "not_of_school_age"}
    for row in rows(engine, OutboxEvent):  # ids only: the MASH looks the child up
        assert b"Nobody" not in row.payload and b"MPS/2026" not in row.payload


def test_a_child_with_only_a_upn_reaches_the_school_its_enrolment_names(engine: Engine, keys: ChildKeys) -> None:
    school(engine, "100002")
    enrolment = record("schools.enrolments.v1", 0, "uk.gov.frontdoor.schools.pupil-enrolled.v1",
                       {"upn": "H801200001001", "school_urn": "100002", "starts_on": "2026-09-02"}, event_id="en1")
    assert consume(engine, enrolment) == []
    amelia = child(keys, "Amelia", upn="H801200001001")
    assert consume(engine, *with_keys(keys, amelia), incident(1, amelia)) == []
    [note] = rows(engine, NotificationRow)
    assert (note.recipient_id, note.upn) == ("100002", "H801200001001")


def test_the_school_and_the_age_are_judged_on_the_date_in_england(engine: Engine, keys: ChildKeys) -> None:
    # 23:30 UTC on Wednesday 8 July 2026 is 00:30 on Thursday 9 July in England (summer time): Amelia moved school
    # that Thursday, and Baby turned two that Thursday (of school age: the MASH looks for her setting)
    school(engine, "100002")
    school(engine, "100004")
    upn = "H801200001001"
    enrolments = [record("schools.enrolments.v1", n, "uk.gov.frontdoor.schools.pupil-enrolled.v1",
                         {"upn": upn, "school_urn": urn, "starts_on": starts, "ends_on": ends}, event_id=f"en{n}")
                  for n, (urn, starts, ends) in enumerate([("100002", "2022-09-01", "2026-07-08"),
                                                           ("100004", "2026-07-09", None)])]
    assert consume(engine, *enrolments) == []
    reported = datetime(2026, 7, 8, 23, 30, tzinfo=UTC)
    amelia, baby = child(keys, "Amelia", upn=upn), child(keys, "Baby", date_of_birth="2024-07-09")
    night = record("contacts.da-incident-reported.v1", 2, "uk.gov.frontdoor.contacts.da-incident-reported.v1",
                   incident_data(CONTACT, [amelia, baby], "2026-07-08T22:50:00Z", reported))
    assert consume(engine, *with_keys(keys, amelia, baby), night, now=reported + timedelta(seconds=2)) == []
    [note] = rows(engine, NotificationRow)
    assert note.recipient_id == "100004"
    resolutions = {str(r.child_id): r.resolution for r in rows(engine, DAChildRow)}
    assert resolutions == {amelia["child_id"]: "by_enrolment", baby["child_id"]: "unknown"}


def test_a_bad_incident_is_dead_lettered(engine: Engine) -> None:
    assert consume(engine, incident(0)) == [("contacts.da-incident-reported.v1", "invalid_data")]  # no children
    assert rows(engine, NotificationRow) == []


def allocation(offset: int, event_type: str, topic: str, **data: Any) -> ConsumerRecord[bytes, bytes]:
    case = {"case_id": str(uuid.uuid5(CONTACT, "case")), "family_id": str(uuid.uuid5(CONTACT, "family")),
            "source": "early_help_decision", "started_at": "2026-11-02T10:00:00Z", "due_at": "2026-11-16T23:59:59Z"}
    return record(topic, offset, event_type, {**case, **data}, event_id=f"a{offset}")


def test_allocation_events_tell_the_lead_agency_and_the_early_help_manager(engine: Engine) -> None:
    with Session(engine) as session:
        for agency in ("EH-NORTH", "early-help-manager"):
            directory.put_recipient(session, directory.agency_recipient(agency), kind=directory.AGENCY, name=agency,
                                    phase=None, channel="email", webhook_url=None, alert_email="team@council.example",
                                    calendar=None, now=NOW)
        session.commit()
    allocated = allocation(0, "uk.gov.frontdoor.allocation.case-allocated.v1", "allocation.case-allocated.v1",
                           allocated_at="2026-11-04T11:00:00Z", lead_agency_id="EH-NORTH", agency_kind="school",
                           lead_professional_ref="LP-7", allocated_by="C-1", at_meeting=True)
    overdue = allocation(1, "uk.gov.frontdoor.allocation.offer-overdue.v1", "allocation.offer-overdue.v1",
                         status="allocated", lead_agency_id="EH-NORTH", agency_kind="school")
    unknown_agency = allocation(2, "uk.gov.frontdoor.allocation.case-allocated.v1", "allocation.case-allocated.v1",
                                allocated_at="2026-11-04T11:00:00Z", lead_agency_id="EH-SOUTH",
                                agency_kind="school", lead_professional_ref="LP-8", allocated_by="C-1",
                                at_meeting=False)
    assert consume(engine, allocated, overdue, unknown_agency, allocated) == []
    notes = sorted((n.kind, n.recipient_id) for n in rows(engine, NotificationRow))
    assert notes == [("case_allocated", "agency:EH-NORTH"), ("offer_overdue", "agency:early-help-manager")]
    assert [(w.kind, w.recipient_id) for w in rows(engine, WorklistRow)] == [("recipient_unknown", "agency:EH-SOUTH")]
    assert all(n.given_name is None and n.deadline is None for n in rows(engine, NotificationRow))


def test_acknowledged_once_unacknowledged_once_and_personal_data_erased_after_retention(
        engine: Engine, keys: ChildKeys) -> None:
    school(engine, "100001")
    school(engine, "100002")
    amelia, oliver = child(keys, "Amelia", school_urn="100001"), child(keys, "Oliver", school_urn="100002")
    amelia_id = amelia["child_id"]
    assert consume(engine, *with_keys(keys, amelia, oliver), incident(0, amelia, oliver)) == []
    with Session(engine) as session:
        [amelia] = inbox.of_school(session, "100001")
        assert inbox.one_of_school(session, "100002", amelia.notification_id) is None  # not another school's
        at = NEXT_MONDAY - timedelta(minutes=5)
        assert inbox.acknowledge(session, amelia, by="DSL-1", now=at, source_uri="urn:t")
        assert not inbox.acknowledge(session, amelia, by="DSL-2", now=at, source_uri="urn:t")
        session.commit()
        assert timers.report_unacknowledged(session, NEXT_MONDAY - timedelta(seconds=1), "urn:t") == []
        assert timers.report_unacknowledged(session, NEXT_MONDAY, "urn:t") == ["primary"]  # Oliver's
        assert timers.report_unacknowledged(session, NEXT_MONDAY + timedelta(hours=1), "urn:t") == []  # once
        session.commit()
        ninety = timedelta(days=90)
        # never acknowledged (Oliver): 90 days after it was made; acknowledged (Amelia): 90 days after that
        assert timers.erase_expired(session, NOW + ninety - timedelta(seconds=1), ninety) == 0
        assert timers.erase_expired(session, NOW + ninety, ninety) == 1
        session.commit()
        assert {n.recipient_id for n in rows(engine, NotificationRow) if n.erased_at} == {"100002"}
        assert timers.erase_expired(session, at + ninety - timedelta(seconds=1), ninety) == 0
        assert timers.erase_expired(session, at + ninety, ninety) == 1
        session.commit()
    erased = {n.recipient_id: n for n in rows(engine, NotificationRow)}
    assert (erased["100001"].given_name, erased["100001"].upn, erased["100001"].police_reference) == (None,) * 3
    assert erased["100001"].date_of_birth is None and erased["100002"].given_name is None
    assert erased["100001"].acknowledged_by == "DSL-1" and erased["100001"].deadline == NEXT_MONDAY  # kept for KPIs
    assert topics(engine).count("notifications.acknowledged.v1") == 1
    assert topics(engine).count("notifications.unacknowledged.v1") == 1
    [acknowledged] = [json.loads(r.payload)["data"] for r in rows(engine, OutboxEvent)
                      if r.topic == "notifications.acknowledged.v1"]
    assert (acknowledged["contact_id"], acknowledged["child_id"]) == (str(CONTACT), amelia_id)  # ids only
    [unacknowledged] = [json.loads(r.payload)["data"] for r in rows(engine, OutboxEvent)
                        if r.topic == "notifications.unacknowledged.v1"]
    assert (unacknowledged["contact_id"], unacknowledged["child_id"]) == (str(CONTACT), oliver["child_id"])


def test_the_retention_pass_deletes_signing_secrets_whose_overlap_ended_and_keeps_the_rest(engine: Engine) -> None:
    from notifications.models import SigningSecretRow

    with Session(for_writing(engine)) as session:
        session.add(SigningSecretRow(recipient_id="school:100001", secret="whsec_old", key_id="k", created_at=NOW,
                                     expires_at=NOW + timedelta(days=1)))
        session.add(SigningSecretRow(recipient_id="school:100001", secret="whsec_new", key_id="k", created_at=NOW))
        session.commit()
        assert timers.retention_pass(session, NOW + timedelta(hours=23)) == 0
        session.commit()
        assert len(session.exec(select(SigningSecretRow)).all()) == 2  # still in its overlap: kept
        assert timers.retention_pass(session, NOW + timedelta(days=1)) == 1
        session.commit()
        assert [row.secret for row in session.exec(select(SigningSecretRow)).all()] == ["whsec_new"]
