"""The allocation service's audit trail, in process (a real SQLite file,
no broker): every operation of the OpenAPI document that changes something
writes exactly one audit row and one allocation.audit.v1 event naming the
key, the case's status before and after; a refused move writes none; the
admin reads the trail."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_conformance import changing_operations, marks, one_change, secrets_in, written
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from allocation import handlers
from allocation.access import keyring
from allocation.app import create_app, rules_from
from allocation.domain.triggers import Trigger
from allocation.migrations import migrate
from allocation.models import AuditEntry, OutboxEvent
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import build_engine, for_writing

NOW = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
TOPIC = "allocation.audit.v1"
SCHOOL = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'allocation.db'}", kafka_bootstrap="127.0.0.1:1",
                    run_consumer=False, sla_check_seconds=3600, publish_timeout_seconds=1)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings.database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {"coordinator": keyring().create(session, "eh-coordinator", {"coordinator"}, NOW),
                "agency": keyring().create(session, "hv-team-3", {"agency"}, NOW, scope="school-100001"),
                "admin": keyring().create(session, "audit-reader", {"admin"}, NOW)}


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        yield client


def open_case(engine: Engine, settings: Settings) -> uuid.UUID:
    started = NOW - timedelta(days=3)
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=str(uuid.uuid4()),
                      family_id=uuid.uuid4(), occurred_at=started, child_ids=(uuid.uuid4(),))
    with Session(for_writing(engine)) as session:
        _, case = handlers.on_trigger(session, trigger, rules_from(settings), started)
        session.commit()
    return case.case_id


def test_every_changing_operation_writes_one_audit_row_and_one_event(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings) -> None:
    case, other = open_case(engine, settings), open_case(engine, settings)

    def move(role: str, path: str, body: dict[str, str] | None) -> Callable[[], None]:
        def call() -> None:
            answer = api.post(path, json=body, headers={"Authorization": f"Bearer {keys[role]}"})
            assert answer.status_code == 200, (path, answer.text)
        return call

    walk = {  # operation -> (its call, who, action, target, the status before and after)
        ("POST", "/v1/cases/{case_id}/allocation"): (move("coordinator", f"/v1/cases/{case}/allocation", SCHOOL),
                                                     "eh-coordinator", "case.allocated", case, "open", "allocated"),
        ("POST", "/v1/cases/{case_id}/offer"): (move("agency", f"/v1/cases/{case}/offer", {}), "hv-team-3",
                                                "case.offer_recorded", case, "allocated", "offer_made"),
        ("POST", "/v1/cases/{case_id}/answer"): (move("agency", f"/v1/cases/{case}/answer", {"answer": "accepted"}),
                                                 "hv-team-3", "case.answer_recorded", case, "offer_made", "accepted"),
        ("POST", "/v1/cases/{case_id}/closure"): (move("agency", f"/v1/cases/{case}/closure",
                                                       {"outcome": "positive_outcome"}), "hv-team-3", "case.closed",
                                                  case, "accepted", "closed"),
        ("POST", "/v1/cases/{case_id}/step-up"): (move("agency", f"/v1/cases/{other}/step-up", None), "hv-team-3",
                                                  "case.stepped_up", other, "allocated", "stepped_up"),
    }
    assert changing_operations(api.get("/openapi.json").json()) == set(walk)  # a new changing route is walked too
    move("coordinator", f"/v1/cases/{other}/allocation", SCHOOL)()
    problems = []
    for operation, (call, who, action, target, status_before, status_after) in walk.items():
        before = marks(engine, AuditEntry, OutboxEvent)
        call()
        found = written(engine, AuditEntry, OutboxEvent, TOPIC, *before)
        problems += [f"{operation}: {p}" for p in one_change(found, f"client:{who}", action, f"case:{target}")]
        problems += [f"{operation}: {p}" for p in secrets_in(found, keys.values())]
        if found.rows and (found.rows[0]["before"]["status"], found.rows[0]["after"]["status"]) != (
                status_before, status_after):
            problems.append(f"{operation}: the statuses before and after are {found.rows[0]['before']} "
                            f"{found.rows[0]['after']}")
    assert problems == []
    assert written(engine, AuditEntry, OutboxEvent, TOPIC).rows[0]["after"]["lead_agency_id"] == "school-100001"


def test_a_refused_move_writes_no_audit(api: TestClient, keys: dict[str, str], engine: Engine,
                                        settings: Settings) -> None:
    case = open_case(engine, settings)
    coordinator = {"Authorization": f"Bearer {keys['coordinator']}"}
    assert api.post(f"/v1/cases/{case}/closure", json={"outcome": "resolved_by_information_and_advice"},
                    headers=coordinator).status_code == 409  # no lead agency to close it
    assert api.post(f"/v1/cases/{uuid.uuid4()}/offer", json={}, headers=coordinator).status_code == 404
    assert api.post(f"/v1/cases/{case}/allocation", json={**SCHOOL, "lead_professional_ref": "Jane Smith"},
                    headers=coordinator).status_code == 422
    found = written(engine, AuditEntry, OutboxEvent, TOPIC)
    assert found.rows == [] and found.events == []


def test_the_admin_reads_a_cases_trail(api: TestClient, keys: dict[str, str], engine: Engine,
                                       settings: Settings) -> None:
    case = open_case(engine, settings)
    api.post(f"/v1/cases/{case}/allocation", json=SCHOOL, headers={"Authorization": f"Bearer {keys['coordinator']}"})
    api.post(f"/v1/cases/{case}/offer", json={}, headers={"Authorization": f"Bearer {keys['agency']}"})
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    trail = api.get("/v1/audit", params={"target": f"case:{case}"}, headers=admin)
    assert trail.status_code == 200
    assert [(e["actor"], e["action"]) for e in trail.json()["entries"]] == [
        ("client:eh-coordinator", "case.allocated"), ("client:hv-team-3", "case.offer_recorded")]
