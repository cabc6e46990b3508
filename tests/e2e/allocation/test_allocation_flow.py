"""The allocation service against the real broker: a decision on
contacts.decided.v1 opens a case on the agenda; allocation and offer close
it with the days taken; a case past its target warns and escalates exactly
once, even across a restart; duplicates open nothing twice; bad events are
dead-lettered."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from allocation_e2e_kit import AllocationService, decided, start_allocation, stop_allocation
from contacts_e2e_kit import Kafka, data_of, header

from frontdoor_contracts.allocation import case_id_for

pytestmark = pytest.mark.e2e
DECIDED = "contacts.decided.v1"


def of_case(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return lambda record: data_of(record).get("case_id") == str(case_id)


async def test_an_early_help_decision_reaches_the_agenda_and_an_offer_closes_it(
    kafka: Kafka, allocation_service: AllocationService
) -> None:
    event = decided("early_help", datetime.now(UTC) - timedelta(hours=1))
    await kafka.publish_event(DECIDED, event, key=str(event.data.contact_id))
    case_id = case_id_for(event.source, event.id)
    opened = await kafka.collect("allocation.case-opened.v1", of_case(case_id))
    assert len(opened) == 1 and data_of(opened[0])["source"] == "early_help_decision"
    svc = allocation_service
    agenda = httpx.get(f"{svc.url}/v1/agenda", headers=svc.headers(svc.coordinator)).json()
    assert str(case_id) in [c["case_id"] for c in agenda["cases"]]
    allocation = {"lead_agency_id": "hv-team-3", "agency_kind": "health_visiting", "lead_professional_ref": "hv-17"}
    assert httpx.post(f"{svc.url}/v1/cases/{case_id}/allocation", json=allocation,
                      headers=svc.headers(svc.coordinator)).status_code == 200
    offered = httpx.post(f"{svc.url}/v1/cases/{case_id}/offer", json={}, headers=svc.headers(svc.agency))
    assert offered.status_code == 200
    made = await kafka.collect("allocation.offer-made.v1", of_case(case_id))
    assert len(made) == 1
    assert data_of(made[0])["within_target"] is True and data_of(made[0])["days_taken"] in (0, 1)
    board = httpx.get(f"{svc.url}/v1/cases", headers=svc.headers(svc.coordinator)).json()["cases"]
    assert str(case_id) in [c["case_id"] for c in board if c["status"] == "offer_made"]


async def test_a_missed_target_warns_and_escalates_exactly_once_even_after_a_restart(
    kafka: Kafka, kafka_bootstrap: str, tmp_path: Path
) -> None:
    service = start_allocation(tmp_path, kafka_bootstrap)
    try:
        event = decided("early_help", datetime.now(UTC) - timedelta(days=20))
        await kafka.publish_event(DECIDED, event, key=str(event.data.contact_id))
        case_id = case_id_for(event.source, event.id)
        overdue = await kafka.collect("allocation.offer-overdue.v1", of_case(case_id))
        assert len(overdue) == 1
        stop_allocation(service)
        # The due time passed while it was stopped for another case: on start it catches up, once.
        missed = decided("early_help", datetime.now(UTC) - timedelta(days=30))
        await kafka.publish_event(DECIDED, missed, key=str(missed.data.contact_id))
        service = start_allocation(tmp_path, kafka_bootstrap, previous=service)
        missed_id = case_id_for(missed.source, missed.id)
        assert len(await kafka.collect("allocation.offer-overdue.v1", of_case(missed_id), settle=3)) == 1
        assert len(await kafka.collect("allocation.offer-overdue.v1", of_case(case_id), settle=0)) == 1
        due_soon = await kafka.collect("allocation.offer-due-soon.v1", of_case(case_id), settle=0)
        assert len(due_soon) == 1
        board = httpx.get(f"{service.url}/v1/cases", headers=service.headers(service.coordinator)).json()["cases"]
        assert {str(case_id), str(missed_id)} <= {c["case_id"] for c in board if c["overdue"]}
    finally:
        stop_allocation(service)


async def test_a_duplicate_decision_opens_nothing_twice_and_nfa_is_reviewed(
    kafka: Kafka, allocation_service: AllocationService
) -> None:
    event = decided("no_further_action", datetime.now(UTC) - timedelta(hours=2))
    for _ in range(2):
        await kafka.publish_event(DECIDED, event, key=str(event.data.contact_id))
    opened = await kafka.collect("allocation.case-opened.v1", of_case(case_id_for(event.source, event.id)), settle=3)
    assert len(opened) == 1 and data_of(opened[0])["source"] == "nfa_review"


async def test_a_bad_event_is_dead_lettered(kafka: Kafka, allocation_service: AllocationService) -> None:
    key = f"bad-decided-{uuid.uuid4()}"
    document = json.loads(decided("early_help", datetime.now(UTC)).model_dump_json())
    document["data"]["level_of_need"] = 9
    await kafka.publish(DECIDED, json.dumps(document).encode(), key=key)
    dead = await kafka.collect("contacts.decided.v1.dlq", lambda r: r.key == key.encode())
    assert len(dead) == 1 and header(dead[0], "dlq.field") == "data.level_of_need"


async def test_a_family_identified_in_data_and_a_step_down_join_one_case(
    kafka: Kafka, allocation_service: AllocationService
) -> None:
    family = str(uuid.uuid4())
    identified_at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    identified = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test:outcomes",
                  "type": "uk.gov.frontdoor.outcomes.family-identified.v1", "time": identified_at,
                  "data": {"family_id": family, "child_ids": [str(uuid.uuid4())],
                           "headline_problems": ["school_attendance", "worklessness"], "identified_at": identified_at}}
    await kafka.publish("outcomes.family-identified.v1", json.dumps(identified).encode(), key=family)
    case_id = case_id_for(identified["source"], identified["id"])
    opened = await kafka.collect("allocation.case-opened.v1", of_case(case_id))
    assert len(opened) == 1 and data_of(opened[0])["source"] == "identified_in_data"
    step_down = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test:case-system",
                 "type": "uk.gov.frontdoor.step-down.requested.v1", "time": identified_at,
                 "data": {"family_id": family, "child_ids": [str(uuid.uuid4())], "level_of_need": 3,
                          "concerns": ["neglect"], "stepped_down_at": identified_at, "decided_by": "sw-12"}}
    await kafka.publish("frontdoor.step-downs.v1", json.dumps(step_down).encode(), key=family)
    svc = allocation_service
    deadline = asyncio.get_running_loop().time() + 30
    timeline: list[str] = []
    while "trigger_attached" not in timeline and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.3)
        response = httpx.get(f"{svc.url}/v1/cases/{case_id}", headers=svc.headers(svc.coordinator))
        timeline = [e["kind"] for e in response.json().get("timeline", [])] if response.status_code == 200 else []
    assert timeline == ["opened", "trigger_attached"]  # one open case per family
    assert len(await kafka.collect("allocation.case-opened.v1",
                                   lambda r: data_of(r).get("family_id") == family, settle=1)) == 1
