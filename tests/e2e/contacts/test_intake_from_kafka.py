"""A front-door system publishes to frontdoor.contacts.v1 with a plain
Kafka client; the contacts service records, dead-letters and reports."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from contacts_e2e_kit import ContactsService, Kafka, data_of, header, metric
from contacts_testkit import child, contact_data, make_contact, nhs_number

from frontdoor_contracts.contacts import ContactSubmitted, DAIncidentReported, contact_id_for, da_child_context
from frontdoor_contracts.personal import PersonKeyIssued, open_sealed, unwrap_key
from frontdoor_platform.wrapping import development_key

pytestmark = pytest.mark.e2e
IN, RECORDED, DLQ = "frontdoor.contacts.v1", "contacts.recorded.v1", "frontdoor.contacts.v1.dlq"


def of_contact(contact_id: uuid.UUID) -> Any:
    return lambda record: data_of(record).get("contact_id") == str(contact_id)


async def test_a_valid_contact_is_recorded_once_and_readable(kafka: Kafka, contacts_service: ContactsService) -> None:
    event = make_contact(children=[child(nhs_number=nhs_number(9001), school_urn="100001")])
    await kafka.publish_event(IN, event, key=event.id)
    contact_id = contact_id_for(event.source, event.id)
    recorded = await kafka.collect(RECORDED, of_contact(contact_id))
    assert len(recorded) == 1
    assert json.loads(recorded[0].value or b"")["type"] == "uk.gov.frontdoor.contacts.recorded.v1"
    assert recorded[0].key == str(contact_id).encode()
    response = httpx.get(f"{contacts_service.url}/v1/contacts/{contact_id}", headers=contacts_service.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["channel"] == "kafka" and body["children"][0]["school_urn"] == "100001"


async def test_a_duplicated_event_is_recorded_once(kafka: Kafka, contacts_service: ContactsService) -> None:
    event = make_contact()
    marker = make_contact()
    key = "producer-ref-dup"  # one key: one partition, so the marker comes after both copies
    await kafka.publish_event(IN, event, key=key)
    await kafka.publish_event(IN, event, key=key)
    await kafka.publish_event(IN, marker, key=key)
    ids = {str(contact_id_for(e.source, e.id)) for e in (event, marker)}
    records = await kafka.collect(
        RECORDED, lambda r: data_of(r).get("contact_id") in ids,
        until=lambda found: any(data_of(r)["contact_id"] == str(contact_id_for(marker.source, marker.id))
                                for r in found),
    )
    assert sorted(data_of(r)["contact_id"] for r in records) == sorted(ids)


def envelope(data: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test:front-door",
            "type": ContactSubmitted.EVENT_TYPE, "time": "2026-03-02T09:15:00Z", "data": data}


BAD_NHS = "9434765918"  # fails the modulus 11 check
BAD_UPN = "A801200001001"  # wrong check letter
BAD_INPUTS = {
    "not_json": (b"{this is not json", "not_json", ""),
    "wrong_shape": (json.dumps(envelope({"referrer_source": "school"})).encode(), "invalid_data", "data.received_at"),
    "bad_nhs_number": (json.dumps(envelope(contact_data(children=[child(nhs_number=BAD_NHS)]))).encode(),
                       "invalid_data", "data.children[0].nhs_number"),
    "bad_upn": (json.dumps(envelope(contact_data(children=[child(upn=BAD_UPN)]))).encode(),
                "invalid_data", "data.children[0].upn"),
    "missing_child": (json.dumps(envelope(contact_data(children=[]))).encode(), "invalid_data", "data.children"),
    "wrong_type": (json.dumps({**envelope(contact_data()), "type": "uk.gov.other.v1"}).encode(), "wrong_type", "type"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_input_is_dead_lettered_with_its_reason(case: str, kafka: Kafka,
                                                          contacts_service: ContactsService) -> None:
    raw, reason, field = BAD_INPUTS[case]
    key = f"bad-{case}-{uuid.uuid4().hex[:8]}"
    await kafka.publish(IN, raw, key=key, headers=[("producer", b"e2e")])
    dead = await kafka.collect(DLQ, lambda r: r.key == key.encode())
    assert len(dead) == 1
    record = dead[0]
    assert record.value == raw  # the original bytes, untouched
    assert header(record, "dlq.reason") == reason
    assert header(record, "dlq.field") == field
    assert header(record, "dlq.topic") == IN
    assert header(record, "producer") == "e2e"  # original headers kept
    for secret in (BAD_NHS, BAD_UPN, "Testchild"):
        assert secret not in (header(record, "dlq.message") or "")
    # The consumer went on: a valid contact after it is recorded.
    event = make_contact()
    await kafka.publish_event(IN, event, key=key)
    assert await kafka.collect(RECORDED, of_contact(contact_id_for(event.source, event.id)), settle=0)


async def test_a_re_referral_is_flagged(kafka: Kafka, contacts_service: ContactsService) -> None:
    nhs = nhs_number(31_415_926)
    first, second = make_contact(children=[child(nhs_number=nhs)]), make_contact(children=[child(nhs_number=nhs)])
    ids = []
    for event, decided_at in ((first, "2025-11-01T10:00:00+00:00"), (second, "2026-03-02T10:00:00+00:00")):
        await kafka.publish_event(IN, event, key=event.id)
        contact_id = contact_id_for(event.source, event.id)
        await kafka.collect(RECORDED, of_contact(contact_id), settle=0)
        decision = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test:case-system",
                    "type": "uk.gov.frontdoor.decision.submitted.v1", "time": decided_at,
                    "data": {"contact_id": str(contact_id), "decision": "social_care_assessment", "level_of_need": 4,
                             "rationale": "test", "decided_by": "worker-7", "decided_at": decided_at}}
        await kafka.publish("frontdoor.decisions.v1", json.dumps(decision).encode(), key=str(contact_id))
        ids.append(contact_id)
    decided = await kafka.collect("contacts.decided.v1", of_contact(ids[1]))
    assert len(decided) == 1
    data = data_of(decided[0])
    assert data["referral"] is True and data["re_referral"] is True
    assert data["children"][0]["re_referral"] is True
    first_decided = await kafka.collect("contacts.decided.v1", of_contact(ids[0]), settle=0)
    assert data_of(first_decided[0])["re_referral"] is False


async def test_a_da_incident_with_two_children_reports_both(kafka: Kafka, contacts_service: ContactsService) -> None:
    event = make_contact(
        referrer_source="police", concerns=["domestic_abuse"],
        children=[child("c1", nhs_number=nhs_number(271828), school_urn="123456"),
                  child("c2", given_name="Secondchild", date_of_birth="2013-07-07", school_urn="654321")],
        da_incident={"occurred_at": "2026-03-01T23:10:00+00:00", "police_reference": "TVP/26/12345",
                     "children": [{"child_ref": "c1", "present": True}, {"child_ref": "c2", "present": False}]},
    )
    await kafka.publish_event(IN, event, key=event.id)
    contact_id = contact_id_for(event.source, event.id)
    reported = await kafka.collect("contacts.da-incident-reported.v1", of_contact(contact_id))
    assert len(reported) == 1
    children = data_of(reported[0])["children"]
    assert [(c["school_urn"], c["present"]) for c in children] == [("123456", True), ("654321", False)]
    # The police reference and the children's details travel sealed with each child's key, which contacts
    # published first on contacts.person-keys.v1, wrapped for notifications (its development key here).
    assert "police_reference" not in data_of(reported[0]) and b"TVP/26/12345" not in reported[0].value
    incident = DAIncidentReported.model_validate(data_of(reported[0]))
    for reported_child in incident.children:
        [keyed] = await kafka.collect("contacts.person-keys.v1",
                                      lambda r, c=reported_child: r.key == str(c.child_id).encode())
        issued = PersonKeyIssued.model_validate(data_of(keyed))
        key = unwrap_key("notifications", development_key("notifications").key, reported_child.child_id,
                         issued.wrapped["notifications"])
        fields = open_sealed(key, reported_child.personal,
                             da_child_context(incident.contact_id, reported_child.child_id))
        assert fields is not None and fields["police_reference"] == "TVP/26/12345"


async def test_a_decision_published_before_its_contact_is_applied_when_it_arrives(
    kafka: Kafka, contacts_service: ContactsService
) -> None:
    event = make_contact()
    contact_id = contact_id_for(event.source, event.id)
    decision = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test:case-system",
                "type": "uk.gov.frontdoor.decision.submitted.v1", "time": "2026-03-02T11:00:00Z",
                "data": {"contact_id": str(contact_id), "decision": "early_help", "level_of_need": 2,
                         "rationale": "test", "decided_by": "worker-9", "decided_at": "2026-03-02T11:00:00Z"}}
    parked = "frontdoor_contacts_decisions_parked_total"
    before = metric(contacts_service, parked)
    await kafka.publish("frontdoor.decisions.v1", json.dumps(decision).encode(), key=str(contact_id))
    deadline = asyncio.get_running_loop().time() + 30
    while metric(contacts_service, parked) == before and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    assert metric(contacts_service, parked) == before + 1  # it waited for its contact
    await kafka.publish_event(IN, event, key=event.id)
    decided = await kafka.collect("contacts.decided.v1", of_contact(contact_id))
    assert len(decided) == 1 and data_of(decided[0])["decision"] == "early_help"


async def test_a_newer_producer_with_an_extra_field_is_still_recorded(kafka: Kafka,
                                                                      contacts_service: ContactsService) -> None:
    document = envelope({**contact_data(), "a_field_added_in_a_later_minor_revision": True})
    await kafka.publish(IN, json.dumps(document).encode(), key=document["id"])
    contact_id = contact_id_for(document["source"], document["id"])
    assert len(await kafka.collect(RECORDED, of_contact(contact_id))) == 1


async def test_a_bad_decision_is_dead_lettered(kafka: Kafka, contacts_service: ContactsService) -> None:
    key = f"bad-decision-{uuid.uuid4()}"
    decision = {"specversion": "1.0", "id": key, "source": "urn:test:case-system",
                "type": "uk.gov.frontdoor.decision.submitted.v1", "time": "2026-03-02T11:00:00Z",
                "data": {"contact_id": str(uuid.uuid4()), "decision": "adopt_immediately", "level_of_need": 2,
                         "rationale": "Confidential rationale text", "decided_by": "worker-9",
                         "decided_at": "2026-03-02T11:00:00Z"}}
    await kafka.publish("frontdoor.decisions.v1", json.dumps(decision).encode(), key=key)
    dead = await kafka.collect("frontdoor.decisions.v1.dlq", lambda r: r.key == key.encode())
    assert len(dead) == 1
    assert header(dead[0], "dlq.reason") == "invalid_data" and header(dead[0], "dlq.field") == "data.decision"
    assert "Confidential" not in (header(dead[0], "dlq.message") or "")
