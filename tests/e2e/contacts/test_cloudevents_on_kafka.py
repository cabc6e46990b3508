"""What the contacts service puts on Kafka, read with tools no one here
wrote: the official CloudEvents SDK's Kafka binding (structured mode) and a
JSON Schema validator over the checked-in schemas."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event
from contacts_e2e_kit import ContactsService, Kafka, data_of
from contacts_testkit import child, contact_data

from frontdoor_contracts.contacts import contact_id_for

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).resolve().parents[3] / "contracts" / "schemas"
STRUCTURED = b"application/cloudevents+json"


def schema_of(event_type: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMAS / f"{event_type}.json").read_text())
    return loaded


async def test_every_produced_record_is_a_structured_cloudevent_the_sdk_reads(
        kafka: Kafka, contacts_service: ContactsService) -> None:
    body = contact_data(referrer_source="police", children=[child(ref="c1")], da_incident={
        "police_reference": "PR-CE-1", "occurred_at": "2026-03-01T22:10:00+00:00",
        "children": [{"child_ref": "c1", "present": True}]})
    response = httpx.post(f"{contacts_service.url}/v1/contacts", json=body, headers=contacts_service.headers(),
                          timeout=30)
    assert response.status_code == 202, response.text
    contact_id = response.json()["contact_id"]
    records = []
    for topic in ("contacts.recorded.v1", "contacts.da-incident-reported.v1"):
        records += await kafka.collect(topic, lambda r: data_of(r).get("contact_id") == contact_id, settle=0.5)
    intake = await kafka.collect("frontdoor.contacts.v1", lambda r: r.key == contact_id.encode(), settle=0)
    assert len(records) == 2 and len(intake) == 1
    for record in [*intake, *records]:
        headers = {name: value for name, value in record.headers or ()}
        assert headers["content-type"] == STRUCTURED  # the Kafka binding's structured mode, said in the header
        event = from_structured_event(KafkaMessage(headers=headers, key=record.key, value=record.value or b""))
        document = json.loads(record.value or b"{}")
        assert event.get_specversion() == "1.0" and event.get_id() == document["id"]
        assert event.get_type() == document["type"] and event.get_source() == document["source"]
        assert None not in document.values()  # attributes without a value are left out
        jsonschema.validate(document, schema_of(document["type"]))
    recorded = next(r for r in records if r.topic == "contacts.recorded.v1")
    event = from_structured_event(KafkaMessage(headers=dict(recorded.headers or ()), key=recorded.key,
                                               value=recorded.value or b""))
    assert event.get_subject() == contact_id
    assert str(contact_id_for(json.loads(intake[0].value or b"{}")["source"],
                              json.loads(intake[0].value or b"{}")["id"])) == contact_id


def test_the_schemas_refuse_an_event_without_specversion() -> None:
    document = json.loads((SCHEMAS.parent / "examples" / "uk.gov.frontdoor.contacts.recorded.v1.json").read_text())
    document = {k: v for k, v in document.items() if v is not None}
    schema = schema_of(document["type"])
    jsonschema.validate(document, schema)
    with pytest.raises(jsonschema.ValidationError, match="specversion"):
        jsonschema.validate({k: v for k, v in document.items() if k != "specversion"}, schema)
