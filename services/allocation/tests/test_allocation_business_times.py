"""Moves at their own business time, over HTTP (the real app on a real
SQLite file, the clock injected): the allocation and the step up take a time
in the body as the offer, the answer and the closure do; a time in the
future of the service's clock, or before the step it follows, is a 422 that
names the field and the rule, never the value; and one family's open case is
found by `GET /v1/cases?family_id=` (its own or the one it was merged into),
logged as read like the board."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import read_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session

from allocation import handlers, store
from allocation.access import keyring
from allocation.app import create_app, rules_from
from allocation.domain.triggers import Trigger
from allocation.migrations import migrate
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import build_engine, for_writing

NOW = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # a Monday
ALLOCATION = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}


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
        made = {role: keyring().create(session, f"test-{role}", {role}, NOW) for role in ("coordinator", "read")}
        made["agency"] = keyring().create(session, "test-agency", {"agency"}, NOW, scope="school-100001")
        made["other-agency"] = keyring().create(session, "test-other", {"agency"}, NOW, scope="vs-42")
        return made


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        yield client


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def open_case(engine: Engine, settings: Settings, started: datetime, family: uuid.UUID | None = None) -> uuid.UUID:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=str(uuid.uuid4()),
                      family_id=family or uuid.uuid4(), occurred_at=started, child_ids=(uuid.uuid4(),))
    with Session(for_writing(engine)) as session:
        _, case = handlers.on_trigger(session, trigger, rules_from(settings), started)
        session.commit()
    return case.case_id


def test_an_allocation_and_an_offer_at_their_own_times_keep_the_target(
        api: TestClient, engine: Engine, settings: Settings, keys: dict[str, str]) -> None:
    case = open_case(engine, settings, NOW - timedelta(days=20))
    at = (NOW - timedelta(days=19)).isoformat()
    allocated = api.post(f"/v1/cases/{case}/allocation", json={**ALLOCATION, "allocated_at": at},
                         headers=auth(keys, "coordinator"))
    assert allocated.status_code == 200, allocated.text
    offered = api.post(f"/v1/cases/{case}/offer", json={"offered_at": (NOW - timedelta(days=18)).isoformat()},
                       headers=auth(keys, "agency"))
    assert offered.status_code == 200 and offered.json()["within_target"] is True  # 2 days, though made today


@pytest.mark.parametrize(("at", "reason"), [(NOW + timedelta(minutes=1), "in_future"),
                                            (NOW - timedelta(days=3), "before_previous_move")])
def test_an_allocation_time_in_the_future_or_before_the_start_names_the_field(
        api: TestClient, engine: Engine, settings: Settings, keys: dict[str, str], at: datetime,
        reason: str) -> None:
    case = open_case(engine, settings, NOW - timedelta(days=2))
    refused = api.post(f"/v1/cases/{case}/allocation", json={**ALLOCATION, "allocated_at": at.isoformat()},
                       headers=auth(keys, "coordinator"))
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0] == {**refused.json()["errors"][0], "field": "allocated_at", "reason": reason}
    assert at.isoformat() not in refused.text and str(at.year) not in refused.json()["errors"][0]["message"]
    naive = api.post(f"/v1/cases/{case}/allocation", json={**ALLOCATION, "allocated_at": "2026-12-20T09:00:00"},
                     headers=auth(keys, "coordinator"))
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "allocated_at"
    assert api.get(f"/v1/cases/{case}", headers=auth(keys, "read")).json()["status"] == "open"


def test_an_offer_before_the_allocation_names_the_field_and_the_rule(
        api: TestClient, engine: Engine, settings: Settings, keys: dict[str, str]) -> None:
    case = open_case(engine, settings, NOW - timedelta(days=5))
    api.post(f"/v1/cases/{case}/allocation", json={**ALLOCATION, "allocated_at": (NOW - timedelta(days=2)).isoformat()},
             headers=auth(keys, "coordinator"))
    early = api.post(f"/v1/cases/{case}/offer", json={"offered_at": (NOW - timedelta(days=3)).isoformat()},
                     headers=auth(keys, "agency"))
    assert early.status_code == 422
    assert early.json()["errors"] == [{"field": "offered_at", "reason": "before_previous_move",
                                       "message": "cannot be before the allocation"}]


def _stepped_up_at(session: Session, case_id: uuid.UUID) -> datetime | None:
    case = store.get_case(session, case_id)
    return case.stepped_up_at if case is not None else None


def test_a_step_up_at_its_own_time_or_now(api: TestClient, engine: Engine, settings: Settings,
                                          keys: dict[str, str]) -> None:
    dated, undated = (open_case(engine, settings, NOW - timedelta(days=4)) for _ in range(2))
    at = NOW - timedelta(days=1)
    for case, body in ((dated, {"stepped_up_at": at.isoformat()}), (undated, None)):
        assert api.post(f"/v1/cases/{case}/step-up", json={"by": "Jane Smith"},
                        headers=auth(keys, "coordinator")).status_code == 422
        response = api.post(f"/v1/cases/{case}/step-up", json=body, headers=auth(keys, "coordinator"))
        assert response.status_code == 200 and response.json()["status"] == "stepped_up"
    with Session(engine) as session:
        times = {case: _stepped_up_at(session, case) for case in (dated, undated)}
    assert times == {dated: at, undated: NOW}


def test_a_bad_step_up_time_names_the_field(api: TestClient, engine: Engine, settings: Settings,
                                           keys: dict[str, str]) -> None:
    case = open_case(engine, settings, NOW - timedelta(days=4))
    for at, reason in ((NOW + timedelta(hours=1), "in_future"), (NOW - timedelta(days=9), "before_previous_move")):
        response = api.post(f"/v1/cases/{case}/step-up", json={"stepped_up_at": at.isoformat()},
                            headers=auth(keys, "coordinator"))
        assert response.status_code == 422
        assert (response.json()["errors"][0]["field"], response.json()["errors"][0]["reason"]) == (
            "stepped_up_at", reason)
    assert api.get(f"/v1/cases/{case}", headers=auth(keys, "read")).json()["status"] == "open"


def test_one_familys_open_case_by_family_id_logged_as_read(
        api: TestClient, engine: Engine, settings: Settings, keys: dict[str, str]) -> None:
    family, other, merged = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    mine = open_case(engine, settings, NOW - timedelta(days=2), family)
    open_case(engine, settings, NOW - timedelta(days=1), other)
    joined = open_case(engine, settings, NOW - timedelta(days=1), merged)
    with Session(for_writing(engine)) as session:
        handlers.on_families_merged(session, family, [merged], NOW)
        session.commit()
    for asked in (family, merged):
        found = api.get("/v1/cases", params={"family_id": str(asked)}, headers=auth(keys, "read"))
        assert found.status_code == 200
        assert [c["case_id"] for c in found.json()["cases"]] == [str(mine)]  # the merged family's case joined it
    assert api.get("/v1/cases", params={"family_id": str(uuid.uuid4())}, headers=auth(keys, "read")).json() == {
        "cases": []}
    assert api.get("/v1/cases", params={"family_id": "not-an-id"}, headers=auth(keys, "read")).status_code == 422
    assert api.get("/v1/cases", params={"family_id": str(family)}).status_code == 401
    assert api.get("/v1/cases", params={"family_id": str(family)},
                   headers=auth(keys, "other-agency")).json() == {"cases": []}  # not its case
    logged = [(r["route"], r["record"]) for r in read_rows(engine)]
    assert logged == [("GET /v1/cases", record) for _ in range(2)
                      for record in (f"case:{mine}", f"family:{family}")]
    assert str(joined) not in {r for _, r in logged}
