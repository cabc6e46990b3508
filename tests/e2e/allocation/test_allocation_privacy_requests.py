"""Privacy requests through the real broker: the allocation service's kit
consumer reads privacy.requests.v1 and answers each request once on
privacy.replies.v1. A decision opens a family's case and a coordinator reads
it; an access request is answered with the case, its timeline and that read,
sealed to the request's key; the same request again is answered by nobody;
an erasure is answered KEPT (nothing personal: ids only) and the case is as
it was; a record that is no request is dead-lettered."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from allocation_e2e_kit import AllocationService, decided
from contacts_e2e_kit import Kafka

from frontdoor_contracts.allocation import case_id_for
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.personal import new_reply_keys, open_reply
from frontdoor_contracts.privacy import ClassAction, PrivacyAnswered, PrivacyKind, PrivacyRequested, reply_context
from frontdoor_contracts.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS
from frontdoor_platform.privacy import NOTHING_PERSONAL

pytestmark = pytest.mark.e2e


def _document(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    try:
        document = json.loads(record.value or b"{}")
    except ValueError:  # another test's hostile record
        return {}
    return document if isinstance(document, dict) else {}


def _ask(kind: PrivacyKind, family: uuid.UUID) -> tuple[Any, PrivacyRequested]:
    private, public = new_reply_keys()
    return private, PrivacyRequested(request_id=uuid.uuid4(), kind=kind, requested_by="e2e-dpo",
                                     requested_at=datetime.now(UTC), reply_key=public, person_ids=[uuid.uuid4()],
                                     family_ids=[family], contact_ids=[])


async def _send(kafka: Kafka, request: PrivacyRequested) -> None:
    event = new_event(request, source="urn:frontdoor:contacts")
    await kafka.publish_event(PRIVACY_REQUESTS.name, event, key=str(request.request_id))


async def _answers(kafka: Kafka, request: PrivacyRequested, settle: float = 3.0) -> list[PrivacyAnswered]:
    """Allocation's answers to the request, each once (a record the outbox relay published again is the same
    event: its id and its data)."""
    def mine(record: ConsumerRecord[bytes, bytes]) -> bool:
        data = _document(record).get("data") or {}
        return data.get("request_id") == str(request.request_id) and data.get("service") == "allocation"

    found = await kafka.collect(PRIVACY_REPLIES.name, mine, timeout=60, settle=settle)
    distinct = {(d["id"], json.dumps(d["data"], sort_keys=True)): d["data"] for d in map(_document, found)}
    return [PrivacyAnswered.model_validate(data) for data in distinct.values()]


async def test_privacy_requests_are_answered_once_and_a_poison_one_dead_lettered(
        kafka: Kafka, allocation_service: AllocationService) -> None:
    svc = allocation_service
    family = uuid.uuid4()
    event = decided("early_help", datetime.now(UTC) - timedelta(hours=2), family_id=family)
    await kafka.publish_event("contacts.decided.v1", event, key=str(event.data.contact_id))
    case_id = case_id_for(event.source, event.id)
    await kafka.collect("allocation.case-opened.v1", lambda r: _document(r).get("data", {}).get("case_id")
                        == str(case_id), settle=0)
    shown = httpx.get(f"{svc.url}/v1/cases/{case_id}", headers=svc.headers(svc.coordinator), timeout=10)
    assert shown.status_code == 200

    private, access = _ask(PrivacyKind.ACCESS, family)
    await _send(kafka, access)
    (answer,) = await _answers(kafka, access)
    assert answer.part is not None
    assert {c.retention_class: (c.action, c.records) for c in answer.classes} == {
        "case_records": (ClassAction.EXPORTED, 1), "read_log": (ClassAction.EXPORTED, 2)}
    document = open_reply(private, answer.part, reply_context(access.request_id, "allocation"))
    (case,) = document["classes"]["case_records"]
    assert (case["case_id"], case["family_id"], case["status"]) == (str(case_id), str(family), "open")
    assert [entry["kind"] for entry in case["timeline"]] == ["opened"]
    assert {(read["reader"], read["record"]) for read in document["reads"]} == {
        ("client:e2e-coordinator", f"case:{case_id}"), ("client:e2e-coordinator", f"family:{family}")}

    _, erase = _ask(PrivacyKind.ERASE, family)
    poison = f"poison-{uuid.uuid4()}"
    await _send(kafka, access)  # the same request again
    await kafka.publish(PRIVACY_REQUESTS.name, b"{not a privacy request", key=poison)
    await _send(kafka, erase)
    (erased,) = await _answers(kafka, erase)
    assert erased.part is None
    assert [(c.retention_class, c.action, c.records, c.reason) for c in erased.classes] == [
        ("case_records", ClassAction.KEPT, 1, NOTHING_PERSONAL)]
    dead = await kafka.collect(f"{PRIVACY_REQUESTS.name}.dlq", lambda r: r.key == poison.encode(), settle=0)
    # every service consuming the topic on the session broker (others' fixtures may still run) dead-letters it
    assert dead and all(d.value == b"{not a privacy request" for d in dead)
    assert len(await _answers(kafka, access, settle=0)) == 1  # the request read again answered nothing new
    after = httpx.get(f"{svc.url}/v1/cases/{case_id}", headers=svc.headers(svc.coordinator), timeout=10).json()
    assert (after["status"], after["family_id"], [e["kind"] for e in after["timeline"]]) == (
        "open", str(family), ["opened"])
