"""The board's pages in process: the real app and lifespan on a SQLite file,
the kit's sign-in for real (argon2, sessions, CSRF), the clock injected (a
Monday; the meeting is Tuesday 10:00). Each role sees what the API would
show it; every form goes through the API's moves (the same events, the same
audit entries); a form without the session's CSRF token does nothing;
another agency's case and caseload are "page not found"; whatever a case
carries is shown escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from allocation.app import create_app
from allocation.models import AuditEntry, OutboxEvent, ReadEntry
from allocation.page import PAGES
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import build_engine
from frontdoor_platform.staff import accounts

MONDAY = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # the conftest's clock
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
Opener = Callable[..., Any]
STAFF = {"coord-1": ({"coordinator"}, None), "reader-1": ({"read"}, None),
         "staff-9": ({"agency"}, "school-100001"), "vs-worker-1": ({"agency"}, "vs-42")}


def add_staff(settings: Settings, staff: dict[str, tuple[set[str], str | None]]) -> None:
    engine = build_engine(settings.database_url)
    with Session(engine) as db:
        for staff_id, (roles, scope) in staff.items():
            db.add(PAGES.tables.accounts.for_staff(staff_id, frozenset(roles), scope, MONDAY))
            db.flush()
            accounts.set_password(db, PAGES.tables, staff_id, PASSWORD, MONDAY)
        db.commit()
    engine.dispose()


@pytest.fixture
def app(board_settings: Settings, board_keys: dict[str, str]) -> Iterator[Any]:
    add_staff(board_settings, STAFF)
    yield create_app(board_settings, clock=lambda: MONDAY)


def sign_in(client: TestClient, staff_id: str) -> None:
    form = client.get("/board/sign-in")
    signed = client.post("/board/sign-in", data={"staff_id": staff_id, "password": PASSWORD,
                                                 "csrf_token": token_of(form)}, follow_redirects=False)
    assert signed.status_code == 303, signed.text


@pytest.fixture
def browser(app: Any) -> Callable[[str], TestClient]:
    """A signed-in browser of a member of staff (each its own cookies)."""
    made: list[TestClient] = []

    def signed_in(staff_id: str) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        made.append(client)
        sign_in(client, staff_id)
        return client

    yield signed_in  # type: ignore[misc]
    for client in made:
        client.__exit__(None, None, None)


def token_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, "no form on the page"
    return html.unescape(found.group(1))


def post(client: TestClient, page: str, action: str, **form: str) -> httpx.Response:
    token = token_of(client.get(page))
    return client.post(action, data={"csrf_token": token, **form}, follow_redirects=False)


def allocate(client: TestClient, case: Any, agency: str = "school-100001", ref: str = "staff-9",
             kind: str = "school") -> httpx.Response:
    return post(client, f"/board/cases/{case}", f"/board/cases/{case}/allocate", lead_agency_id=agency,
                agency_kind=kind, lead_professional_ref=ref, at_meeting="yes")


def _rows(settings: Settings, model: Any) -> list[Any]:
    engine = build_engine(settings.database_url)
    with Session(engine) as db:
        found = list(db.exec(select(model)).all())
    engine.dispose()
    return found


def test_no_session_goes_to_sign_in(app: Any) -> None:
    with TestClient(app) as client:
        for path in ("/board/", "/board/caseloads/", "/board/cases/00000000-0000-0000-0000-000000000000"):
            assert client.get(path, follow_redirects=False).headers["location"] == "/board/sign-in"


def test_the_board_is_empty_and_says_so(browser: Callable[[str], TestClient]) -> None:
    page = browser("coord-1").get("/board/")
    assert page.status_code == 200
    assert "No family is waiting for allocation" in page.text
    assert page.text.count('<p class="empty">None.</p>') == 4
    assert '<meta http-equiv="refresh" content="300; url=/board/?refreshed=1">' in page.text  # no meeting: 5 min
    assert "Tuesday 22 December 2026, 10:00 (GMT)" in page.text


def test_the_coordinator_sees_the_agenda_most_urgent_first_with_needs_and_marks(
        browser: Callable[[str], TestClient], open_case: Opener) -> None:
    later = open_case(MONDAY - timedelta(days=2), children=2)
    urgent = open_case(MONDAY - timedelta(days=10, hours=-1), source=CaseSource.STEP_DOWN, referrer=None)
    page = browser("coord-1").get("/board/").text
    assert page.index(f"agenda-{urgent}") < page.index(f"agenda-{later}")
    assert "Due today" in page and "8 days left" in page
    assert "Target passes before the next meeting" in page and "Stepped down from social care" in page
    assert "Level 3 – targeted" in page and "Neglect" in page and "Referred by School" in page
    assert "2 children" in page and f"/board/cases/{urgent}#allocate" in page


def test_the_coordinator_allocates_from_the_page_through_the_api_s_move(
        browser: Callable[[str], TestClient], open_case: Opener, board_settings: Settings) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    coordinator = browser("coord-1")
    form = coordinator.get(f"/board/cases/{case}").text  # the agencies' staff accounts suggested
    assert '<option value="school-100001"></option>' in form and '<option value="vs-42"></option>' in form
    assert '<option value="staff-9">staff-9 (school-100001)</option>' in form and "coord-1 (" not in form
    done = allocate(coordinator, case)
    assert done.status_code == 303 and done.headers["location"] == f"/board/cases/{case}?done=allocated"
    shown = coordinator.get(done.headers["location"]).text
    assert "The case is allocated" in shown and "Allocated: offer not yet made" in shown
    assert "school-100001 (School)" in shown and "recorded by coord-1" in shown
    # Started last Friday 09:00 UTC: due by the end of Monday week (the tenth day), in Europe/London.
    assert '<dd id="case-due"><time datetime="2026-12-28">Monday 28 December 2026</time></dd>' in shown
    topics = [row.topic for row in _rows(board_settings, OutboxEvent)]
    assert "allocation.case-allocated.v1" in topics
    assert [(a.actor, a.action) for a in _rows(board_settings, AuditEntry) if a.action.startswith("case.")] == [
        ("staff:coord-1", "case.allocated")]


def test_a_form_without_the_session_s_csrf_token_does_nothing(
        browser: Callable[[str], TestClient], open_case: Opener, board_settings: Settings) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    coordinator = browser("coord-1")
    form = {"lead_agency_id": "school-100001", "agency_kind": "school", "lead_professional_ref": "staff-9"}
    for token in ({}, {"csrf_token": "forged"}):
        refused = coordinator.post(f"/board/cases/{case}/allocate", data={**form, **token}, follow_redirects=False)
        assert refused.status_code == 403 and "This form has expired" in refused.text
    assert "Waiting for allocation" in coordinator.get(f"/board/cases/{case}").text
    assert not [a for a in _rows(board_settings, AuditEntry) if a.action.startswith("case.")]


def test_the_agency_s_worker_records_the_offer_the_answer_and_the_closure(
        browser: Callable[[str], TestClient], open_case: Opener) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    assert allocate(browser("coord-1"), case).status_code == 303
    worker = browser("staff-9")
    board = worker.get("/board/").text
    assert "Agenda: waiting for allocation" not in board and f"/board/cases/{case}" in board
    mine = worker.get("/board/caseloads/school-100001/staff-9").text
    assert f"/board/cases/{case}" in mine and "Offer outstanding" in mine
    page = f"/board/cases/{case}"
    assert post(worker, page, f"{page}/offer").status_code == 303
    assert post(worker, page, f"{page}/answer", answer="accepted").status_code == 303
    closing = worker.get(page).text
    assert "Accepted: the agency is working with the family" in closing and "Positive outcome" in closing
    assert post(worker, page, f"{page}/close", outcome="positive_outcome").status_code == 303
    shown = worker.get(page).text
    assert "Closed: Positive outcome" in shown
    load = worker.get("/board/caseloads/school-100001/staff-9").text
    assert "No open cases." in load and re.search(r'id="closed-this-quarter">1<', load)


def test_another_agency_s_worker_sees_none_of_it(browser: Callable[[str], TestClient], open_case: Opener) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    assert allocate(browser("coord-1"), case).status_code == 303
    other = browser("vs-worker-1")
    assert f"/board/cases/{case}" not in other.get("/board/").text
    for path in (f"/board/cases/{case}", "/board/caseloads/school-100001", "/board/caseloads/school-100001/staff-9"):
        missing = other.get(path)
        assert missing.status_code == 404 and "Page not found" in missing.text
    refused = post(other, "/board/", f"/board/cases/{case}/offer")
    assert refused.status_code == 404
    caseloads = other.get("/board/caseloads/").text
    assert "school-100001" not in caseloads and "No agency holds a case yet" in caseloads


def test_a_reader_sees_every_case_and_no_form(browser: Callable[[str], TestClient], open_case: Opener) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    reader = browser("reader-1")
    page = reader.get(f"/board/cases/{case}").text
    assert "Waiting for allocation" in page and "/allocate" not in page
    refused = post(reader, "/board/", f"/board/cases/{case}/allocate", lead_agency_id="school-100001",
                   agency_kind="school", lead_professional_ref="staff-9")
    assert refused.status_code == 403 and "You cannot do this" in refused.text


def test_a_form_that_is_not_valid_names_the_field_and_never_echoes_it(
        browser: Callable[[str], TestClient], open_case: Opener) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    refused = allocate(browser("coord-1"), case, ref="Jane Smith")
    assert refused.status_code == 422 and "lead_professional_ref" in refused.text
    assert "Jane" not in refused.text
    assert allocate(browser("coord-1"), "not-a-case").status_code == 404


def test_what_a_case_carries_is_shown_escaped(browser: Callable[[str], TestClient], open_case: Opener) -> None:
    # A newer producer's referrer source is kept as it came (a lenient parse): shown, but never as markup.
    open_case(MONDAY - timedelta(days=1), referrer="<script>alert(1)</script>")
    page = browser("coord-1").get("/board/").text
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_a_page_view_is_in_the_read_log_with_the_member_of_staff(
        browser: Callable[[str], TestClient], open_case: Opener, board_settings: Settings) -> None:
    case = open_case(MONDAY - timedelta(days=1))
    browser("reader-1").get(f"/board/cases/{case}")
    rows = [(r.reader, r.route, r.record) for r in _rows(board_settings, ReadEntry)]
    assert ("staff:reader-1", "GET /board/cases/{case_id}", f"case:{case}") in rows


def test_any_request_gets_a_page_never_a_500(browser: Callable[[str], TestClient], open_case: Opener,
                                             board_settings: Settings) -> None:
    case = open_case(MONDAY - timedelta(days=3))
    coordinator = browser("coord-1")
    token = token_of(coordinator.get(f"/board/cases/{case}"))
    answers = [
        coordinator.get(f"/board/cases/{uuid_like}") for uuid_like in ("00000000-0000-0000-0000-000000000000",
                                                                        "not-a-case", "%00", "..%2F..%2Fetc")
    ] + [
        coordinator.get(path) for path in ("/board/caseloads/%3Cscript%3E", "/board/caseloads/a/b/c",
                                           "/board/caseloads/" + "x" * 500)
    ] + [
        coordinator.post(f"/board/cases/{case}/allocate", data={"csrf_token": token, "lead_agency_id": "x" * 10000,
                                                                "agency_kind": "<b>bold</b>",
                                                                "lead_professional_ref": "\x00"}),
        coordinator.post(f"/board/cases/{case}/close", content=f"csrf_token={token}&outcome=%ff%fe%00".encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}),
        coordinator.post(f"/board/cases/{case}/answer", content=b"\xff\xfe\x00garbage",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}),
        coordinator.post(f"/board/cases/{case}/offer", content=b"--broken\r\n\r\n",
                         headers={"Content-Type": "multipart/form-data; boundary=broken"}),
        coordinator.post(f"/board/cases/{case}/offer", json={"csrf_token": token}),
    ]
    for response in answers:
        assert response.status_code in (400, 403, 404, 422), response.status_code
        assert "<b>bold</b>" not in response.text and "xxxxxxxxxx" not in response.text
    assert "Waiting for allocation" in coordinator.get(f"/board/cases/{case}").text  # nothing moved


def test_an_agency_account_without_its_agency_is_refused(app: Any, board_settings: Settings) -> None:
    add_staff(board_settings, {"lost-1": ({"agency"}, None)})
    with TestClient(app) as client:
        sign_in(client, "lost-1")
        refused = client.get("/board/")
        assert refused.status_code == 403 and "You cannot do this" in refused.text


def test_the_board_reloads_every_half_minute_while_the_meeting_runs(
        board_settings: Settings, board_keys: dict[str, str]) -> None:
    add_staff(board_settings, {"coord-1": ({"coordinator"}, None)})
    tuesday = datetime(2026, 12, 22, 10, 30, tzinfo=UTC)  # half an hour into the meeting
    with TestClient(create_app(board_settings, clock=lambda: tuesday)) as client:
        sign_in(client, "coord-1")
        page = client.get("/board/").text
    assert '<meta http-equiv="refresh" content="30; url=/board/?refreshed=1">' in page
    assert "Tuesday 22 December 2026, 10:00 (GMT)</time> is running" in page
    assert re.search(r"The next one:\s*<time[^>]*>Tuesday 29 December 2026, 10:00 \(GMT\)", page)
