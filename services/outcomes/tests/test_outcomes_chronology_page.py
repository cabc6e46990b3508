"""The chronology page in process (the real app on a real SQLite file, the kit's staff sign-in with argon2 for
real, the events applied as the live stream applies them): no session goes to sign-in; the manager and the
lead agency's staff see the story oldest first with times in England and a refresh; another agency's family
and a bad id are the "not found" page; an account without an agency is told why; whatever a row holds is shown
escaped; a family with no events says so; the start page finds a family by id; each page shown is in the read
log as the staff member's; `frontdoor-outcomes accounts add` makes an account that signs in."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from read_log_testkit import drop_the_log, read_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.staff import accounts as staff_accounts
from frontdoor_platform.testing import MemoryPublisher
from outcomes.app import create_app
from outcomes.domain.view import FamilyView
from outcomes.main import main
from outcomes.migrations import migrate
from outcomes.models import FamilyViewRow, StaffAccountRow
from outcomes.page import PAGES
from outcomes.readmodel.chronology import ChronologyEntry, Facts, Kind

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ACCOUNTS = {"manager-1": ({"manager"}, None), "worker-1": ({"agency"}, "agency-1"),
            "worker-2": ({"agency"}, "agency-2"), "no-agency": ({"agency"}, None)}


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'o.db'}"


@pytest.fixture
def engine(database_file: str) -> Iterator[Engine]:
    built = build_engine(database_file)
    migrate(built)
    with Session(for_writing(built)) as db:
        for staff_id, (roles, scope) in ACCOUNTS.items():
            db.add(StaffAccountRow.for_staff(staff_id, frozenset(roles), scope, NOW))
            db.flush()
            staff_accounts.set_password(db, PAGES.tables, staff_id, PASSWORD, NOW)
        db.commit()
    yield built
    built.dispose()


@pytest.fixture
def page(database_file: str, engine: Engine) -> Iterator[TestClient]:
    from outcomes.settings import Settings

    settings = Settings(database_url=database_file, run_consumer=False)
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def sign_in(client: TestClient, staff_id: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/chronology/sign-in")
    found = CSRF.search(form.text)
    assert found is not None
    signed = client.post("/chronology/sign-in", data={"staff_id": staff_id, "password": password,
                                                      "csrf_token": html.unescape(found.group(1))},
                         follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/chronology/", signed.text
    return signed


def kinds_shown(text: str) -> list[str]:
    return re.findall(r'<tr class="event event-([a-z_]+)">', text)


def test_no_session_goes_to_sign_in(page: TestClient, story: Any) -> None:
    for path in ("/chronology/", f"/chronology/families/{story.family_id}"):
        answer = page.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/chronology/sign-in")


@pytest.mark.parametrize("staff_id", ["manager-1", "worker-1"])
def test_the_manager_and_the_lead_agency_see_the_story_oldest_first(
        page: TestClient, engine: Engine, story: Any, fed: Any, staff_id: str) -> None:
    fed(engine, story, story.events(), NOW)
    sign_in(page, staff_id)
    shown = page.get(f"/chronology/families/{story.family_id}")
    assert shown.status_code == 200
    assert kinds_shown(shown.text) == story.KINDS
    assert "Mon 2 Mar 2026, 09:00" in shown.text  # the contact: 09:00 UTC is 09:00 GMT
    assert "Thu 5 Mar 2026, 09:00" in shown.text  # the allocation
    assert "positive outcome" in shown.text and "early help" in shown.text and "neglect" in shown.text
    reload = f"/chronology/families/{story.family_id}?refreshed=1"  # its own reload never extends the session
    assert f'<meta http-equiv="refresh" content="120; url={reload}">' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert [(r["reader"], r["route"], r["record"]) for r in read_rows(engine)] == [
        (f"staff:{staff_id}", "GET /chronology/families/{family_id}", f"family:{story.family_id}")]


def test_another_agencys_family_and_a_bad_id_are_not_found(page: TestClient, engine: Engine, story: Any,
                                                           fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    sign_in(page, "worker-2")
    for path in (f"/chronology/families/{story.family_id}", f"/chronology/families/{uuid.uuid4()}",
                 "/chronology/families/not-an-id"):
        answer = page.get(path)
        assert answer.status_code == 404 and "Family not found" in answer.text, path
        assert 'class="event' not in answer.text and "agency-1" not in answer.text, path
    assert read_rows(engine) == []


def test_an_account_without_an_agency_is_told_why(page: TestClient, engine: Engine, story: Any, fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    sign_in(page, "no-agency")
    answer = page.get(f"/chronology/families/{story.family_id}")
    assert answer.status_code == 403 and "No agency on your account" in answer.text
    assert 'class="event' not in answer.text


def test_whatever_a_row_holds_is_shown_escaped(page: TestClient, engine: Engine) -> None:
    family_id = uuid.uuid4()
    hostile = '<script>alert("x")</script>'
    with Session(for_writing(engine)) as db:
        db.add(ChronologyEntry(event_id=f"{hostile}-1", family_id=family_id, kind=Kind.PARTNER_FACT.value, at=NOW,
                               agency_id=hostile, facts=Facts(category=hostile, dataset=hostile).stored()))
        db.commit()
    sign_in(page, "manager-1")
    shown = page.get(f"/chronology/families/{family_id}")
    assert shown.status_code == 200 and kinds_shown(shown.text) == ["partner_fact"]
    assert hostile not in shown.text and "<script>" not in shown.text
    assert "&lt;script&gt;" in shown.text


def test_a_family_with_no_events_says_so(page: TestClient, engine: Engine) -> None:
    family_id = uuid.uuid4()
    view = FamilyView(family_id=family_id, as_of=NOW.date(), children=1, adults=0, problems=[], identified_on=[],
                      cases=[], plans=[], events=[])
    with Session(for_writing(engine)) as db:
        db.add(FamilyViewRow(family_id=family_id, document=view.model_dump_json(), updated_at=NOW))
        db.commit()
    sign_in(page, "manager-1")
    shown = page.get(f"/chronology/families/{family_id}")
    assert shown.status_code == 200 and 'id="empty"' in shown.text and 'class="event' not in shown.text


def test_the_start_page_finds_a_family_by_id(page: TestClient, story: Any) -> None:
    sign_in(page, "worker-1")
    start = page.get("/chronology/")
    assert start.status_code == 200 and 'name="family_id"' in start.text and "agency-1" in start.text
    wrong = page.get("/chronology/", params={"family_id": "<b>nope</b>"})
    assert wrong.status_code == 422 and "Enter the family" in wrong.text and "<b>nope" not in wrong.text
    found = page.get("/chronology/", params={"family_id": f" {story.family_id} "}, follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, f"/chronology/families/{story.family_id}")


def test_accounts_add_makes_an_account_that_signs_in(database_file: str, engine: Engine, story: Any,
                                                     fed: Any, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], page: TestClient) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", database_file)
    assert main(["accounts", "add", "--staff-id", "lead-9", "--role", "agency", "--scope", "agency-1",
                 "--password", "another long pass phrase"]) == 0
    assert "/chronology/sign-in" in capsys.readouterr().out
    assert main(["accounts", "add", "--staff-id", "analyst-9", "--role", "analyst"]) == 2  # not a page role
    assert main(["accounts", "add", "--staff-id", "lead-10", "--role", "agency", "--scope", "agency-1"]) == 0
    assert "/chronology/password/" in capsys.readouterr().out  # a one-time set-password link
    fed(engine, story, story.events(), NOW)
    sign_in(page, "lead-9", "another long pass phrase")
    assert kinds_shown(page.get(f"/chronology/families/{story.family_id}").text) == story.KINDS


def test_a_read_log_that_cannot_be_written_is_the_not_available_page_never_the_data(
        page: TestClient, engine: Engine, story: Any, fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    sign_in(page, "manager-1")
    drop_the_log(engine)
    answer = page.get(f"/chronology/families/{story.family_id}")
    assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1")
    assert "Not available just now" in answer.text and 'class="event' not in answer.text
    assert str(story.case_id) not in answer.text
