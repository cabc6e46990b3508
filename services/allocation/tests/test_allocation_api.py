"""The allocation API as a component: the real app and lifespan on a real
SQLite file, no broker (events wait in the outbox), the clock injected."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_conformance import fuzz, openapi_gaps
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from allocation import handlers
from allocation.access import keyring
from allocation.app import create_app, rules_from
from allocation.domain.triggers import Trigger
from allocation.migrations import migrate
from allocation.models import OutboxEvent
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # a Monday; the meeting is Tuesday 10:00


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'allocation.db'}", kafka_bootstrap="127.0.0.1:1",
                    run_consumer=False, sla_check_seconds=3600, publish_timeout_seconds=1)


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(engine) as session:
        made = {role: keyring().create(session, f"test-{role}", {role}, NOW)
                for role in ("coordinator", "read", "admin")}
        made["agency"] = keyring().create(session, "test-agency", {"agency"}, NOW, scope="school-100001")
        made["other-agency"] = keyring().create(session, "test-other", {"agency"}, NOW, scope="vs-42")
        made["unscoped-agency"] = keyring().create(session, "test-unscoped", {"agency"}, NOW)
    engine.dispose()
    return made


def open_case(settings: Settings, started: datetime) -> uuid.UUID:
    engine = build_engine(settings.database_url)
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=str(uuid.uuid4()),
                      family_id=uuid.uuid4(), occurred_at=started, child_ids=(uuid.uuid4(),))
    with Session(for_writing(engine)) as session:
        _, case = handlers.on_trigger(session, trigger, rules_from(settings), started)
        session.commit()
    engine.dispose()
    return case.case_id


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        yield client


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def test_agenda_is_most_urgent_first_and_flags_cases_due_before_the_meeting(
    api: TestClient, settings: Settings, keys: dict[str, str]
) -> None:
    later = open_case(settings, NOW - timedelta(days=2))
    urgent = open_case(settings, NOW - timedelta(days=10, hours=-1))  # due tonight, before Tuesday's meeting
    response = api.get("/v1/agenda", headers=auth(keys, "read"))
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["meeting_at"]) == datetime(2026, 12, 22, 10, 0, tzinfo=UTC)
    assert [c["case_id"] for c in body["cases"]] == [str(urgent), str(later)]
    assert [c["allocate_before_meeting"] for c in body["cases"]] == [True, False]
    assert body["cases"][1]["days_waiting"] == 2 and body["cases"][1]["days_left"] == 8


def test_allocate_offer_answer_with_roles(api: TestClient, settings: Settings, keys: dict[str, str]) -> None:
    case = open_case(settings, NOW - timedelta(days=3))
    allocation = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9",
                  "at_meeting": True}
    assert api.post(f"/v1/cases/{case}/allocation", json=allocation).status_code == 401
    assert api.post(f"/v1/cases/{case}/allocation", json=allocation, headers=auth(keys, "agency")).status_code == 403
    allocated = api.post(f"/v1/cases/{case}/allocation", json=allocation, headers=auth(keys, "coordinator"))
    assert allocated.status_code == 200 and allocated.json()["status"] == "allocated"
    assert api.post(f"/v1/cases/{case}/offer", json={}, headers=auth(keys, "read")).status_code == 403
    offered = api.post(f"/v1/cases/{case}/offer", json={}, headers=auth(keys, "agency")).json()
    assert (offered["days_taken"], offered["within_target"]) == (3, True)
    again = api.post(f"/v1/cases/{case}/allocation", json=allocation, headers=auth(keys, "coordinator"))
    assert again.status_code == 409
    answered = api.post(f"/v1/cases/{case}/answer", json={"answer": "declined"}, headers=auth(keys, "agency"))
    assert answered.json()["status"] == "declined"
    timeline = api.get(f"/v1/cases/{case}", headers=auth(keys, "read")).json()["timeline"]
    assert [e["kind"] for e in timeline] == ["opened", "allocated", "offer_made", "offer_answered"]
    leads = api.get("/v1/agencies/leads", headers=auth(keys, "read")).json()
    assert leads == {"lead_organisations_by_kind": {"school": 1}}
    engine = build_engine(settings.database_url)
    with Session(engine) as session:
        topics = [row.topic for row in session.exec(select(OutboxEvent)).all()]
    assert [t for t in topics if t != "allocation.audit.v1"] == [
        "allocation.case-opened.v1", "allocation.case-allocated.v1", "allocation.offer-made.v1",
        "allocation.offer-answered.v1"]
    assert topics.count("allocation.audit.v1") == 3  # the three moves that changed the case


def test_bad_input_names_the_field_and_never_echoes_it(api: TestClient, settings: Settings,
                                                       keys: dict[str, str]) -> None:
    case = open_case(settings, NOW - timedelta(days=1))
    bad = {"lead_agency_id": "school-1", "agency_kind": "school", "lead_professional_ref": "Jane Smith"}
    response = api.post(f"/v1/cases/{case}/allocation", json=bad, headers=auth(keys, "coordinator"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "lead_professional_ref"
    assert "Jane" not in response.text
    assert api.get(f"/v1/cases/{uuid.uuid4()}", headers=auth(keys, "read")).status_code == 404
    future = api.post(f"/v1/cases/{case}/offer", json={"offered_at": "2030-01-01T00:00:00Z"},
                      headers=auth(keys, "coordinator"))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "offered_at"


def test_board_metrics_and_readiness_without_a_broker(api: TestClient, settings: Settings,
                                                      keys: dict[str, str]) -> None:
    open_case(settings, NOW - timedelta(days=12))
    board = api.get("/v1/cases", headers=auth(keys, "read")).json()["cases"]
    assert board[0]["overdue"] is True and board[0]["days_left"] < 0
    metrics = api.get("/metrics").text
    assert "frontdoor_allocation_overdue_cases 1.0" in metrics
    assert 'frontdoor_allocation_open_cases{days_waiting="11-20"} 1.0' in metrics
    assert api.get("/readyz").status_code == 503
    assert api.get("/healthz").json() == {"status": "ok"}


def test_step_up_needs_the_agency_role_and_closes_the_case(api: TestClient, settings: Settings,
                                                           keys: dict[str, str]) -> None:
    case = open_case(settings, NOW - timedelta(days=4))
    assert api.post(f"/v1/cases/{case}/step-up", headers=auth(keys, "read")).status_code == 403
    assert api.post(f"/v1/cases/{case}/step-up", headers=auth(keys, "agency")).status_code == 404  # not its case yet
    allocation = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}
    assert api.post(f"/v1/cases/{case}/allocation", json=allocation,
                    headers=auth(keys, "coordinator")).status_code == 200
    stepped = api.post(f"/v1/cases/{case}/step-up", headers=auth(keys, "agency"))
    assert stepped.status_code == 200 and stepped.json()["status"] == "stepped_up"
    assert str(case) not in [c["case_id"] for c in api.get("/v1/cases", headers=auth(keys, "read")).json()["cases"]]
    assert api.post(f"/v1/cases/{case}/step-up", headers=auth(keys, "agency")).status_code == 409


def test_an_agency_key_acts_and_reads_only_on_its_own_agencys_cases(api: TestClient, settings: Settings,
                                                                      keys: dict[str, str]) -> None:
    ours, theirs = open_case(settings, NOW - timedelta(days=2)), open_case(settings, NOW - timedelta(days=3))
    for case, agency in ((ours, "school-100001"), (theirs, "vs-42")):
        allocation = {"lead_agency_id": agency, "agency_kind": "school", "lead_professional_ref": "staff-9"}
        assert api.post(f"/v1/cases/{case}/allocation", json=allocation,
                        headers=auth(keys, "coordinator")).status_code == 200
    # Another agency's case is 404 (not 403: its id is not confirmed), for moves and reads alike.
    assert api.post(f"/v1/cases/{theirs}/offer", json={}, headers=auth(keys, "agency")).status_code == 404
    assert api.get(f"/v1/cases/{theirs}", headers=auth(keys, "agency")).status_code == 404
    assert api.post(f"/v1/cases/{ours}/offer", json={}, headers=auth(keys, "agency")).status_code == 200
    board = [c["case_id"] for c in api.get("/v1/cases", headers=auth(keys, "agency")).json()["cases"]]
    assert board == [str(ours)]
    timeline = api.get(f"/v1/cases/{ours}", headers=auth(keys, "agency")).json()["timeline"]
    assert [(e["kind"], e["by"]) for e in timeline if "by" in e] == [("allocated", "test-coordinator"),
                                                                     ("offer_made", "test-agency")]
    everything = [c["case_id"] for c in api.get("/v1/cases", headers=auth(keys, "coordinator")).json()["cases"]]
    assert {str(ours), str(theirs)} <= set(everything)
    assert api.get("/v1/agenda", headers=auth(keys, "agency")).status_code == 403
    unscoped = api.post(f"/v1/cases/{ours}/answer", json={"answer": "accepted"}, headers=auth(keys, "unscoped-agency"))
    assert unscoped.status_code == 403 and "names no agency" in unscoped.json()["detail"]


def test_the_openapi_document_is_complete_for_a_generated_client(api: TestClient) -> None:
    assert openapi_gaps(api.get("/openapi.json").json()) == []


def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(settings: Settings, keys: dict[str, str]) -> None:
    open_case(settings, NOW - timedelta(days=3))
    engine = build_engine(settings.database_url)
    with Session(for_writing(engine)) as session:
        everything = keyring().create(session, "test-everything", {"coordinator", "admin"}, NOW)
    engine.dispose()
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as ready:
        assert fuzz(ready, everything) == []


@pytest.mark.parametrize("who", ["no key", "malformed", "revoked", "expired", "coordinator", "read", "agency",
                                 "other-agency", "unscoped-agency", "admin"])
def test_authorization_matrix(api: TestClient, settings: Settings, keys: dict[str, str], who: str) -> None:
    """Every role against every endpoint, on a case allocated to the agency `school-100001`."""
    case = open_case(settings, NOW - timedelta(days=2))
    allocation = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}
    assert api.post(f"/v1/cases/{case}/allocation", json=allocation,
                    headers=auth(keys, "coordinator")).status_code == 200
    engine = build_engine(settings.database_url)
    with Session(for_writing(engine)) as session:
        name = who.replace(" ", "-")
        made = {"revoked": keyring().create(session, f"r-{name}", {"coordinator"}, NOW),
                "expired": keyring().create(session, f"e-{name}", {"coordinator"}, NOW - timedelta(days=9),
                                            expires_at=NOW - timedelta(days=1))}
        keyring().revoke(session, f"r-{name}", NOW)
    engine.dispose()
    headers = {"no key": {}, "malformed": {"Authorization": "Bearer fda_"}, **{k: auth(made, k) for k in made}}
    routes = [("GET", "/v1/agenda", None), ("GET", "/v1/cases", None), ("GET", f"/v1/cases/{case}", None),
              ("GET", "/v1/agencies/leads", None), ("POST", f"/v1/cases/{case}/allocation", allocation),
              ("POST", f"/v1/cases/{case}/offer", {}), ("POST", f"/v1/cases/{case}/answer", {"answer": "accepted"}),
              ("POST", f"/v1/cases/{case}/step-up", None),
              ("POST", f"/v1/cases/{case}/closure", {"outcome": "positive_outcome"}),
              ("GET", f"/v1/audit?target=case:{case}", None), ("GET", f"/v1/reads?record=case:{case}", None)]
    expected = {  # status per route, in the order above (409: allowed, but the case cannot move that way now)
        "no key": [401] * 11, "malformed": [401] * 11, "revoked": [401] * 11, "expired": [401] * 11,
        "coordinator": [200, 200, 200, 200, 409, 200, 200, 409, 200, 403, 403],
        "read": [200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403],
        "agency": [403, 200, 200, 403, 403, 200, 200, 409, 200, 403, 403],
        "other-agency": [403, 200, 404, 403, 403, 404, 404, 404, 404, 403, 403],
        "unscoped-agency": [403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403],
        "admin": [403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200],
    }[who]
    chosen = headers[who] if who in headers else auth(keys, who)
    got = [api.request(method, path, json=body, headers=chosen).status_code
           for method, path, body in routes]
    assert got == expected


# ---- closing a case

SCHOOL = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}


def answered(api: TestClient, keys: dict[str, str], case: uuid.UUID, answer: str = "accepted") -> None:
    assert api.post(f"/v1/cases/{case}/allocation", json=SCHOOL, headers=auth(keys, "coordinator")).status_code == 200
    assert api.post(f"/v1/cases/{case}/offer", json={}, headers=auth(keys, "agency")).status_code == 200
    assert api.post(f"/v1/cases/{case}/answer", json={"answer": answer},
                    headers=auth(keys, "agency")).status_code == 200


def outbox(settings: Settings, topic: str) -> list[dict[str, Any]]:
    engine = build_engine(settings.database_url)
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(OutboxEvent.topic == topic)).all()
        found = [json.loads(row.payload) for row in rows]
    engine.dispose()
    return found


def board_ids(api: TestClient, keys: dict[str, str], role: str) -> list[str]:
    return [c["case_id"] for c in api.get("/v1/cases", headers=auth(keys, role)).json()["cases"]]


def test_the_lead_agency_closes_an_accepted_case_once(api: TestClient, settings: Settings,
                                                      keys: dict[str, str]) -> None:
    case = open_case(settings, NOW - timedelta(days=40))
    answered(api, keys, case)
    on_board = [c for c in api.get("/v1/cases", headers=auth(keys, "agency")).json()["cases"]
                if c["case_id"] == str(case)]
    assert on_board and on_board[0]["status"] == "accepted"  # its caseload, being worked with ...
    assert on_board[0]["days_left"] is None and on_board[0]["overdue"] is False  # ... but not waiting
    assert (on_board[0]["closed_at"], on_board[0]["outcome"]) == (None, None)
    body = {"outcome": "positive_outcome"}
    assert api.post(f"/v1/cases/{case}/closure", json=body).status_code == 401
    assert api.post(f"/v1/cases/{case}/closure", json=body, headers=auth(keys, "read")).status_code == 403
    assert api.post(f"/v1/cases/{case}/closure", json=body, headers=auth(keys, "other-agency")).status_code == 404
    unscoped = api.post(f"/v1/cases/{case}/closure", json=body, headers=auth(keys, "unscoped-agency"))
    assert unscoped.status_code == 403
    closed = api.post(f"/v1/cases/{case}/closure", json=body, headers=auth(keys, "agency"))
    assert closed.status_code == 200
    view = closed.json()
    assert (view["status"], view["outcome"], datetime.fromisoformat(view["closed_at"])) == (
        "closed", "positive_outcome", NOW)
    assert (view["lead_agency_id"], view["answer"], view["overdue"], view["days_left"]) == (
        "school-100001", "accepted", False, None)
    again = api.post(f"/v1/cases/{case}/closure", json={"outcome": "no_change"}, headers=auth(keys, "agency"))
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "it is closed" in again.json()["detail"]
    for role in ("agency", "read", "coordinator"):  # off the board, the agenda ...
        assert str(case) not in board_ids(api, keys, role)
    assert str(case) not in [c["case_id"] for c in api.get("/v1/agenda", headers=auth(keys, "read")).json()["cases"]]
    timeline = api.get(f"/v1/cases/{case}", headers=auth(keys, "agency")).json()  # ... but its timeline stays
    assert timeline["status"] == "closed" and timeline["timeline"][-1]["kind"] == "closed"
    assert {k: timeline["timeline"][-1][k] for k in ("outcome", "status_before", "by")} == {
        "outcome": "positive_outcome", "status_before": "accepted", "by": "test-agency"}
    events = outbox(settings, "allocation.case-closed.v1")
    assert len(events) == 1 and events[0]["id"] == str(uuid.uuid5(case, "closed"))
    assert (events[0]["data"]["outcome"], events[0]["data"]["closed_by"]) == ("positive_outcome", "test-agency")
    metrics = api.get("/metrics").text
    assert 'frontdoor_allocation_cases_closed_total{outcome="positive_outcome"} 1.0' in metrics
    assert 'frontdoor_allocation_cases_closed_total{outcome="deterioration"} 0.0' in metrics


def test_a_bad_closure_names_the_field_and_never_echoes_it(api: TestClient, settings: Settings,
                                                           keys: dict[str, str]) -> None:
    case = open_case(settings, NOW - timedelta(days=5))
    answered(api, keys, case)
    for body, field in (({"outcome": "Jane Smith went home"}, "outcome"), ({}, "outcome"),
                        ({"outcome": "no_change", "closed_at": "2026-12-21T08:00:00"}, "closed_at"),
                        ({"outcome": "no_change", "closed_at": "2030-01-01T00:00:00Z"}, "closed_at"),
                        ({"outcome": "no_change", "note": "Jane Smith"}, "note")):
        response = api.post(f"/v1/cases/{case}/closure", json=body, headers=auth(keys, "agency"))
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field and "Jane" not in response.text
    before_answer = api.post(f"/v1/cases/{case}/closure", json={"outcome": "no_change",
                                                                "closed_at": "2026-12-01T09:00:00Z"},
                             headers=auth(keys, "agency"))
    assert before_answer.status_code == 422 and "before the answer" in before_answer.json()["detail"]
    assert outbox(settings, "allocation.case-closed.v1") == []
    assert api.get(f"/v1/cases/{case}", headers=auth(keys, "read")).json()["status"] == "accepted"


def test_which_cases_may_close_with_which_outcome_over_http(api: TestClient, settings: Settings,
                                                             keys: dict[str, str]) -> None:
    declined = open_case(settings, NOW - timedelta(days=6))
    answered(api, keys, declined, "declined")
    refused = api.post(f"/v1/cases/{declined}/closure", json={"outcome": "positive_outcome"},
                       headers=auth(keys, "agency"))
    assert refused.status_code == 409 and "as positive_outcome: it is declined" in refused.json()["detail"]
    ok = api.post(f"/v1/cases/{declined}/closure", json={"outcome": "resolved_by_information_and_advice",
                                                         "closed_at": "2026-12-21T10:00:00+01:00"},  # = NOW
                  headers=auth(keys, "agency"))
    assert ok.status_code == 200 and datetime.fromisoformat(ok.json()["closed_at"]) == NOW
    unallocated = open_case(settings, NOW - timedelta(days=2))
    body = {"outcome": "resolved_by_information_and_advice"}
    assert api.post(f"/v1/cases/{unallocated}/closure", json=body,
                    headers=auth(keys, "agency")).status_code == 404  # nobody's case yet
    assert api.post(f"/v1/cases/{unallocated}/closure", json=body,
                    headers=auth(keys, "coordinator")).status_code == 409  # no lead agency to close it
    allocated = open_case(settings, NOW - timedelta(days=3))
    assert api.post(f"/v1/cases/{allocated}/allocation", json=SCHOOL,
                    headers=auth(keys, "coordinator")).status_code == 200
    by_coordinator = api.post(f"/v1/cases/{allocated}/closure", json=body, headers=auth(keys, "coordinator"))
    assert by_coordinator.status_code == 200 and by_coordinator.json()["days_waiting"] == 3
    closed_by = {e["data"]["case_id"]: e["data"]["closed_by"] for e in outbox(settings, "allocation.case-closed.v1")}
    assert closed_by == {str(declined): "test-agency", str(allocated): "test-coordinator"}
    assert api.get("/metrics").text.count('cases_closed_total{outcome="resolved_by_information_and_advice"} 2.0') == 1
    assert api.post(f"/v1/cases/{uuid.uuid4()}/closure", json=body,
                    headers=auth(keys, "coordinator")).status_code == 404
