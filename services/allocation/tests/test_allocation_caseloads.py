"""The board's and the caseloads' JSON routes in process: the real app and
lifespan on a SQLite file, the clock injected (a Monday; the meeting is
Tuesday 10:00). Who sees what: the coordinator and a reader every case, an
agency its own (another agency's caseload is 404), nobody without a key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from allocation.app import create_app
from allocation.models import ReadEntry
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import build_engine

MONDAY = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # the conftest's clock
Bearer = Callable[[str], dict[str, str]]
Opener = Callable[..., Any]
SCHOOL = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}
CHARITY = {"lead_agency_id": "vs-42", "agency_kind": "voluntary_sector", "lead_professional_ref": "vs-worker-1"}


@pytest.fixture
def api(board_settings: Settings, board_keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(board_settings, clock=lambda: MONDAY)) as client:
        yield client


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_board_lists_the_agenda_with_each_case_s_needs_and_the_open_cases_by_status(
        api: TestClient, open_case: Opener, bearer: Bearer) -> None:
    urgent = open_case(MONDAY - timedelta(days=10, hours=-1), source=CaseSource.STEP_DOWN, referrer=None)
    later = open_case(MONDAY - timedelta(days=2), children=3)
    allocated = open_case(MONDAY - timedelta(days=4))
    _ok(api.post(f"/v1/cases/{allocated}/allocation", json=SCHOOL, headers=bearer("coordinator")))
    board = _ok(api.get("/v1/board", headers=bearer("read")))
    assert [c["case_id"] for c in board["agenda"]] == [str(urgent), str(later)]
    first, second = board["agenda"]
    assert (first["source"], first["allocate_before_meeting"], first["referrer_sources"]) == ("step_down", True, [])
    assert (second["days_left"], second["level_of_need"], second["concerns"], second["referrer_sources"],
            second["children"]) == (8, 3, ["neglect"], ["school"], 3)
    groups = {g["status"]: [c["case_id"] for c in g["cases"]] for g in board["open_by_status"]}
    assert groups == {"open": [str(urgent), str(later)], "allocated": [str(allocated)], "offer_made": [],
                      "accepted": []}
    assert board["open_by_status"][1]["cases"][0]["days_waiting"] == 4
    # The agenda route and the board's agenda are one code path.
    assert _ok(api.get("/v1/agenda", headers=bearer("read")))["cases"] == board["agenda"]


def test_an_agency_sees_no_agenda_and_only_its_own_cases_on_the_board(
        api: TestClient, open_case: Opener, bearer: Bearer) -> None:
    mine, theirs, _ = (open_case(MONDAY - timedelta(days=d)) for d in (3, 2, 1))
    _ok(api.post(f"/v1/cases/{mine}/allocation", json=SCHOOL, headers=bearer("coordinator")))
    _ok(api.post(f"/v1/cases/{theirs}/allocation", json=CHARITY, headers=bearer("coordinator")))
    board = _ok(api.get("/v1/board", headers=bearer("agency")))
    assert board["agenda"] is None
    assert [c["case_id"] for g in board["open_by_status"] for c in g["cases"]] == [str(mine)]
    assert api.get("/v1/board").status_code == 401
    assert api.get("/v1/board", headers=bearer("admin")).status_code == 403


def _walk(api: TestClient, bearer: Bearer, open_case: Opener) -> dict[str, str]:
    """Four cases: two at the school (one offered and waiting for an answer, one closed this quarter), one at
    the charity, one unallocated."""
    cases = {name: str(open_case(MONDAY - timedelta(days=days)))
             for name, days in (("held", 6), ("offered", 5), ("closed", 7), ("charity", 3), ("waiting", 1))}
    _ok(api.post(f"/v1/cases/{cases['held']}/allocation", headers=bearer("coordinator"),
                 json={**SCHOOL, "allocated_at": (MONDAY - timedelta(days=4)).isoformat()}))
    for name in ("offered", "closed"):
        _ok(api.post(f"/v1/cases/{cases[name]}/allocation", json={**SCHOOL, "lead_professional_ref": "staff-2"},
                     headers=bearer("coordinator")))
        _ok(api.post(f"/v1/cases/{cases[name]}/offer", json={}, headers=bearer("agency")))
    _ok(api.post(f"/v1/cases/{cases['closed']}/answer", json={"answer": "accepted"}, headers=bearer("agency")))
    _ok(api.post(f"/v1/cases/{cases['closed']}/closure", json={"outcome": "positive_outcome"},
                 headers=bearer("agency")))
    _ok(api.post(f"/v1/cases/{cases['charity']}/allocation", json=CHARITY, headers=bearer("coordinator")))
    return cases


def test_caseloads_per_agency_and_per_lead_professional(api: TestClient, open_case: Opener, bearer: Bearer) -> None:
    cases = _walk(api, bearer, open_case)
    every = _ok(api.get("/v1/caseloads", headers=bearer("coordinator")))
    assert every["quarter_start"] == "2026-10-01"
    by_agency = {a["lead_agency_id"]: a for a in every["agencies"]}
    assert set(by_agency) == {"school-100001", "vs-42"}
    school = by_agency["school-100001"]
    assert (school["open_cases"], school["offers_outstanding"], school["awaiting_answer"],
            school["closed_this_quarter"], school["closed_by_outcome"]) == (2, 1, 1, 1, {"positive_outcome": 1})
    assert [p["lead_professional_ref"] for p in school["lead_professionals"]] == ["staff-2", "staff-9"]
    caseload = _ok(api.get("/v1/caseloads/school-100001", headers=bearer("agency")))
    assert [c["case_id"] for c in caseload["cases"]] == [cases["held"], cases["offered"]]  # longest held first
    assert [(c["days_since_allocation"], c["offer_outstanding"]) for c in caseload["cases"]] == [(4, True), (0, False)]
    mine = _ok(api.get("/v1/caseloads/school-100001/professionals/staff-2", headers=bearer("read")))
    assert ([c["case_id"] for c in mine["cases"]], mine["closed_by_outcome"]) == (
        [cases["offered"]], {"positive_outcome": 1})
    assert mine["lead_professional_ref"] == "staff-2"


def test_an_agency_reads_its_own_caseloads_only(api: TestClient, open_case: Opener, bearer: Bearer) -> None:
    _walk(api, bearer, open_case)
    own = _ok(api.get("/v1/caseloads", headers=bearer("other-agency")))
    assert [a["lead_agency_id"] for a in own["agencies"]] == ["vs-42"]
    for path in ("/v1/caseloads/school-100001", "/v1/caseloads/school-100001/professionals/staff-9"):
        refused = api.get(path, headers=bearer("other-agency"))
        assert refused.status_code == 404 and "school" not in refused.text
    assert api.get("/v1/caseloads/vs-42", headers=bearer("other-agency")).status_code == 200
    assert api.get("/v1/caseloads").status_code == 401
    assert api.get("/v1/caseloads/vs-42", headers=bearer("admin")).status_code == 403
    assert api.get("/v1/caseloads/bad%20id", headers=bearer("read")).status_code == 422


def test_a_caseload_s_cases_are_in_the_read_log_before_they_are_shown(
        api: TestClient, open_case: Opener, bearer: Bearer, board_settings: Settings) -> None:
    cases = _walk(api, bearer, open_case)
    _ok(api.get("/v1/caseloads/vs-42", headers=bearer("other-agency")))
    engine = build_engine(board_settings.database_url)
    with Session(engine) as session:
        rows = session.exec(select(ReadEntry).where(ReadEntry.route == "GET /v1/caseloads/{agency_id}")).all()
    engine.dispose()
    assert {(row.reader, row.record) for row in rows if row.record.startswith("case:")} == {
        ("client:test-other", f"case:{cases['charity']}")}
