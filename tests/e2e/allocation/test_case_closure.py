"""Closing an Early Help case, against the real broker: a decision opens a
case; it is allocated, offered and accepted; a further decision for the
family while it is worked with joins it; the lead agency closes it with an
outcome and allocation.case-closed.v1 carries the outcome and every child;
the family's next decision opens a new case (a re-referral after closure)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from allocation_e2e_kit import AllocationService, decided
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event
from contacts_e2e_kit import Kafka, data_of

from frontdoor_contracts.allocation import case_id_for

pytestmark = pytest.mark.e2e
DECIDED = "contacts.decided.v1"


def _child(child_id: uuid.UUID) -> dict[str, object]:
    return {"child_id": child_id, "referral": False, "re_referral": False}


async def _timeline(svc: AllocationService, case_id: uuid.UUID, until: str) -> list[str]:
    deadline = asyncio.get_running_loop().time() + 30
    kinds: list[str] = []
    while until not in kinds and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.3)
        response = httpx.get(f"{svc.url}/v1/cases/{case_id}", headers=svc.headers(svc.coordinator))
        kinds = [e["kind"] for e in response.json().get("timeline", [])] if response.status_code == 200 else []
    return kinds


async def test_an_accepted_case_closes_with_its_outcome_and_the_family_can_come_back(
    kafka: Kafka, allocation_service: AllocationService
) -> None:
    svc = allocation_service
    family, first_child, second_child = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    first = decided("early_help", now - timedelta(hours=3), family_id=family, children=[_child(first_child)])
    await kafka.publish_event(DECIDED, first, key=str(first.data.contact_id))
    case_id = case_id_for(first.source, first.id)
    assert len(await kafka.collect("allocation.case-opened.v1", lambda r: data_of(r).get("case_id") == str(case_id),
                                   settle=0)) == 1

    allocation = {"lead_agency_id": "hv-team-3", "agency_kind": "health_visiting", "lead_professional_ref": "hv-17"}
    for path, body, token in (("allocation", allocation, svc.coordinator), ("offer", {}, svc.agency),
                              ("answer", {"answer": "accepted"}, svc.agency)):
        response = httpx.post(f"{svc.url}/v1/cases/{case_id}/{path}", json=body, headers=svc.headers(token))
        assert response.status_code == 200, (path, response.text)

    # While the family is worked with, a further decision joins the case under way.
    during = decided("early_help", now - timedelta(hours=1), family_id=family, children=[_child(second_child)])
    await kafka.publish_event(DECIDED, during, key=str(during.data.contact_id))
    assert (await _timeline(svc, case_id, "trigger_attached"))[-1] == "trigger_attached"

    closed = httpx.post(f"{svc.url}/v1/cases/{case_id}/closure", json={"outcome": "positive_outcome"},
                        headers=svc.headers(svc.agency))
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "positive_outcome")
    again = httpx.post(f"{svc.url}/v1/cases/{case_id}/closure", json={"outcome": "no_change"},
                       headers=svc.headers(svc.agency))
    assert again.status_code == 409

    records = await kafka.collect("allocation.case-closed.v1", lambda r: data_of(r).get("case_id") == str(case_id))
    assert len(records) == 1  # once, the settle time included
    record = records[0]
    assert record.key == str(case_id).encode()
    headers = dict(record.headers or ())
    assert headers["content-type"] == b"application/cloudevents+json"
    event = from_structured_event(KafkaMessage(headers=headers, key=record.key, value=record.value or b""))
    assert event.get_type() == "uk.gov.frontdoor.allocation.case-closed.v1"
    assert event.get_source() == "urn:frontdoor:allocation" and event.get_subject() == str(case_id)
    assert event.get_id() == str(uuid.uuid5(case_id, "closed"))
    data = data_of(record)
    assert (data["outcome"], data["family_id"], data["closed_by"]) == ("positive_outcome", str(family), "e2e-agency")
    assert (data["lead_agency_id"], data["agency_kind"]) == ("hv-team-3", "health_visiting")
    assert sorted(data["child_ids"]) == sorted([str(first_child), str(second_child)])
    assert len(await kafka.collect("allocation.case-opened.v1", lambda r: data_of(r).get("family_id") == str(family),
                                   settle=0)) == 1  # the joined decision opened nothing

    # The family comes back after the closure: a new case, with its own clock.
    back = decided("early_help", datetime.now(UTC), family_id=family, children=[_child(first_child)])
    await kafka.publish_event(DECIDED, back, key=str(back.data.contact_id))
    new_id = case_id_for(back.source, back.id)
    opened = await kafka.collect("allocation.case-opened.v1", lambda r: data_of(r).get("case_id") == str(new_id))
    assert len(opened) == 1 and new_id != case_id and data_of(opened[0])["family_id"] == str(family)
    cases = httpx.get(f"{svc.url}/v1/cases", headers=svc.headers(svc.coordinator)).json()["cases"]
    board = [c["case_id"] for c in cases]
    assert str(new_id) in board and str(case_id) not in board
