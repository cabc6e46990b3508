"""Who read what, on the schools' page (the real app, a real SQLite
database): the list and one notification are in the read log as the
signed-in key adult's (`staff:<staff id>`, never a name), by notification
and child id and the route's template; when the log cannot be written the
page says it is not available (503 with Retry-After) and shows no child."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import drop_the_log, personal_in, read_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing
from frontdoor_platform.staff import accounts
from frontdoor_platform.testing import MemoryPublisher
from notifications.app import create_app
from notifications.models import KeyAdultRow, NotificationRow, RecipientRow
from notifications.page.pages import PAGES
from notifications.settings import Settings

START = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
URN, PASSWORD = "100001", "school A's long passphrase"
NOTIFICATION, CHILD = uuid.uuid4(), uuid.uuid4()
PERSONAL = ["Testchild", "A123456789012", "PR/2026/0042"]  # ("Ada" may be hex in an id)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'page.db'}", kafka_bootstrap="127.0.0.1:1",
                        run_consumer=False, publish_timeout_seconds=1)
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: START)) as made:
        engine: Engine = made.app.state.auth.engine  # type: ignore[attr-defined]
        with Session(for_writing(engine)) as db:
            db.add(RecipientRow(recipient_id=URN, kind="school", name="Oakfield Primary", phase="primary",
                                channel="inbox", updated_at=START))
            db.add(KeyAdultRow(staff_id="dsl-a", school_urn=URN, updated_at=START))
            db.add(NotificationRow(
                notification_id=NOTIFICATION, kind="da_incident", recipient_id=URN, phase="primary",
                subject_id=uuid.uuid4(), child_id=CHILD, source_event_id="urn:test\n1",
                reported_at=START - timedelta(hours=10), deadline=START + timedelta(hours=2),
                created_at=START - timedelta(hours=10), given_name="Ada", family_name="Testchild",
                date_of_birth=date(2017, 3, 14), upn="A123456789012", police_reference="PR/2026/0042",
                incident_at=START - timedelta(hours=9), child_present=False))
            db.commit()
            assert accounts.set_password(db, PAGES.tables, "dsl-a", PASSWORD, START)
            db.commit()
        token = re.search(r'name="csrf_token" value="([^"]+)"', made.get("/page/sign-in").text)
        assert token is not None
        signed = made.post("/page/sign-in", data={"staff_id": "dsl-a", "password": PASSWORD,
                                                  "csrf_token": token.group(1)}, follow_redirects=False)
        assert signed.status_code == 303
        yield made


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.auth.engine  # type: ignore[attr-defined]
    return engine


def test_a_page_view_is_logged_as_the_key_adults_and_nothing_personal(client: TestClient) -> None:
    assert read_rows(engine_of(client)) == []  # signing in shows no child
    assert "Testchild" in client.get("/page/").text
    assert "Testchild" in client.get(f"/page/notifications/{NOTIFICATION}").text
    assert client.get(f"/page/notifications/{uuid.uuid4()}").status_code == 404
    rows = read_rows(engine_of(client))
    assert [(r["reader"], r["route"], r["record"]) for r in rows] == [
        ("staff:dsl-a", route, record) for route in ("GET /page/", "GET /page/notifications/{notification_id}")
        for record in (f"notification:{NOTIFICATION}", f"person:{CHILD}")]
    assert personal_in(rows, PERSONAL) == []


def test_a_log_that_cannot_be_written_shows_no_child(client: TestClient) -> None:
    drop_the_log(engine_of(client))
    for path in ("/page/", f"/page/notifications/{NOTIFICATION}"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1"), path
        assert "Not available just now" in answer.text and personal_in([{"body": answer.text}], PERSONAL) == []

