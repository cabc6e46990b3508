"""The board's pages link each case's family to the outcomes service's chronology page when
`chronology_url` is set (the board's rows, a case, a caseload's rows), and show no such link when it is not.
In process: the real app on a SQLite file, the kit's sign-in for real, the conftest's clock."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from allocation.app import create_app
from allocation.models import CaseRow
from allocation.page import PAGES
from allocation.settings import Settings
from frontdoor_platform.database import build_engine
from frontdoor_platform.staff import accounts

MONDAY = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # the conftest's clock
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CHRONOLOGY = "https://outcomes.council.example/chronology"
STAFF = {"coord-1": ({"coordinator"}, None), "staff-9": ({"agency"}, "school-100001")}
Browser = Callable[[Settings, str], TestClient]


def with_link(settings: Settings, url: str | None) -> Settings:
    return Settings(database_url=settings.database_url, kafka_bootstrap="127.0.0.1:1", run_consumer=False,
                    sla_check_seconds=3600, publish_timeout_seconds=1, chronology_url=url)


def family_of(settings: Settings, case_id: uuid.UUID) -> uuid.UUID:
    engine = build_engine(settings.database_url)
    with Session(engine) as db:
        case = db.get(CaseRow, case_id)
        assert case is not None
        family_id = case.family_id
    engine.dispose()
    return family_id


def token_of(text: str) -> str:
    found = CSRF.search(text)
    assert found is not None, "no form on the page"
    return html.unescape(found.group(1))


@pytest.fixture
def browser(board_settings: Settings, board_keys: dict[str, str]) -> Iterator[Browser]:
    """A signed-in member of staff on an app with the given settings."""
    engine = build_engine(board_settings.database_url)
    with Session(engine) as db:
        for staff_id, (roles, scope) in STAFF.items():
            db.add(PAGES.tables.accounts.for_staff(staff_id, frozenset(roles), scope, MONDAY))
            db.flush()
            accounts.set_password(db, PAGES.tables, staff_id, PASSWORD, MONDAY)
        db.commit()
    engine.dispose()
    made: list[TestClient] = []

    def signed_in(settings: Settings, staff_id: str) -> TestClient:
        client = TestClient(create_app(settings, clock=lambda: MONDAY))
        client.__enter__()
        made.append(client)
        form = client.get("/board/sign-in").text
        signed = client.post("/board/sign-in", data={"staff_id": staff_id, "password": PASSWORD,
                                                     "csrf_token": token_of(form)}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        return client

    yield signed_in
    for client in made:
        client.__exit__(None, None, None)


def allocate(client: TestClient, case_id: uuid.UUID) -> None:
    token = token_of(client.get(f"/board/cases/{case_id}").text)
    done = client.post(f"/board/cases/{case_id}/allocate", follow_redirects=False, data={
        "csrf_token": token, "lead_agency_id": "school-100001", "agency_kind": "school",
        "lead_professional_ref": "staff-9", "at_meeting": "yes"})
    assert done.status_code == 303, done.text


def test_with_a_chronology_url_the_board_a_case_and_a_caseload_link_the_family(
        browser: Browser, board_settings: Settings, open_case: Callable[..., uuid.UUID]) -> None:
    settings = with_link(board_settings, CHRONOLOGY + "/")  # a trailing slash is dropped
    waiting, allocated = open_case(MONDAY - timedelta(days=2)), open_case(MONDAY - timedelta(days=3))
    link = {case: f'href="{CHRONOLOGY}/families/{family_of(settings, case)}"' for case in (waiting, allocated)}
    coordinator = browser(settings, "coord-1")
    allocate(coordinator, allocated)

    board = coordinator.get("/board/").text
    assert link[waiting] in board  # its agenda row
    assert link[allocated] in board  # its row among the open cases by status
    case_page = coordinator.get(f"/board/cases/{waiting}").text
    assert 'id="family-chronology"' in case_page and link[waiting] in case_page
    worker = browser(settings, "staff-9")
    for page in ("/board/caseloads/school-100001", "/board/caseloads/school-100001/staff-9"):
        caseload = worker.get(page).text
        assert link[allocated] in caseload and link[waiting] not in caseload  # only the agency's case


def test_without_a_chronology_url_no_page_links_a_family(
        browser: Browser, board_settings: Settings, open_case: Callable[..., uuid.UUID]) -> None:
    settings = with_link(board_settings, None)
    waiting, allocated = open_case(MONDAY - timedelta(days=2)), open_case(MONDAY - timedelta(days=3))
    coordinator = browser(settings, "coord-1")
    allocate(coordinator, allocated)
    worker = browser(settings, "staff-9")
    pages = [coordinator.get("/board/"), coordinator.get(f"/board/cases/{waiting}"),
             worker.get("/board/caseloads/school-100001"), worker.get("/board/caseloads/school-100001/staff-9")]
    for page in pages:
        assert page.status_code == 200
        assert "/families/" not in page.text and "chronology" not in page.text.lower()
    assert str(family_of(settings, waiting)) not in pages[0].text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://outcomes.example/\"><script>", "outcomes.example"])
def test_a_chronology_url_that_is_not_a_plain_web_address_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="chronology_url"):
        Settings(chronology_url=url)
