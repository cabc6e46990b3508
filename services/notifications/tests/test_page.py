"""The page for schools' key adults, in process (the real app, a memory
publisher, a clock the test moves): signing in (the same answer for an
unknown staff id, a wrong password and a delayed attempt; the throttle's
rules are in test_page_sign_in.py), CSRF on every form, the cookie's flags
(no Max-Age: it dies with the browser) and the page's headers, a session's
absolute and idle timeouts on the clock the test moves, one school
never seeing another's notifications, and acknowledgement (its state, and
exactly one notifications.acknowledged.v1 event however often it is sent)."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi.testclient import TestClient
from sealed_children import DA, PERSON_KEYS, ChildKeys, incident_data, incident_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.envelope import encode_event
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import for_writing
from frontdoor_platform.staff import accounts, sessions
from frontdoor_platform.testing import MemoryPublisher
from notifications import subscriptions
from notifications.app import create_app, rules_from
from notifications.metrics import Metrics
from notifications.models import AuditEntry, KeyAdultRow, NotificationRow, OutboxEvent, PageSessionRow, RecipientRow
from notifications.page.pages import PAGES
from notifications.settings import Settings

START = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)  # a Monday morning, GMT
PASSWORD_A = "school A's long passphrase"
PASSWORD_B = "school B's long passphrase"
ACKNOWLEDGED = "notifications.acknowledged.v1"
URN_A, URN_B = "100001", "100002"
KEYS = PERSON_KEYS


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Page:
    client: TestClient
    clock: Clock
    engine: Engine
    a1: uuid.UUID  # school A: unacknowledged, deadline in winter
    a2: uuid.UUID  # school A: erased after the retention period
    b1: uuid.UUID  # school B


def notification(urn: str, given: str, family: str, deadline: datetime, **more: Any) -> NotificationRow:
    return NotificationRow(
        notification_id=uuid.uuid4(), kind="da_incident", recipient_id=urn, phase="primary", subject_id=uuid.uuid4(),
        child_id=uuid.uuid4(), source_event_id="urn:test\n1", reported_at=START - timedelta(hours=10),
        deadline=deadline, created_at=START - timedelta(hours=10), given_name=given, family_name=family,
        date_of_birth=date(2017, 3, 14), upn="A123456789012", police_reference="PR/2026/0042",
        incident_at=datetime(2026, 12, 6, 21, 15, tzinfo=UTC), child_present=False, **more)


def seed(engine: Engine) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    a1 = notification(URN_A, "Ada", "Testchild", datetime(2026, 12, 7, 8, 45, tzinfo=UTC))
    a2 = notification(URN_A, "Gone", "Erasedchild", datetime(2026, 12, 8, 8, 45, tzinfo=UTC),
                      erased_at=START - timedelta(hours=1))
    a2.given_name = a2.family_name = a2.upn = a2.police_reference = None
    a2.date_of_birth = a2.incident_at = a2.child_present = None
    b1 = notification(URN_B, "Bertie", "Otherschool", datetime(2026, 12, 7, 8, 45, tzinfo=UTC))
    with Session(for_writing(engine)) as db:
        for urn, name in [(URN_A, "Oakfield Primary"), (URN_B, "Birchwood Academy")]:
            db.add(RecipientRow(recipient_id=urn, kind="school", name=name, phase="primary", channel="inbox",
                                updated_at=START))
        db.add(KeyAdultRow(staff_id="dsl-a", school_urn=URN_A, updated_at=START))
        db.add(KeyAdultRow(staff_id="dsl-b", school_urn=URN_B, updated_at=START))
        db.add_all([a1, a2, b1])
        db.commit()
        assert accounts.set_password(db, PAGES.tables, "dsl-a", PASSWORD_A, START)
        assert accounts.set_password(db, PAGES.tables, "dsl-b", PASSWORD_B, START)
        db.commit()
        return a1.notification_id, a2.notification_id, b1.notification_id


def settings_for(tmp_path: Path, **more: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'page.db'}", kafka_bootstrap="127.0.0.1:1",
                    run_consumer=False, publish_timeout_seconds=1, session_hours=8, log_level="DEBUG",
                    **{"page_free_failures": 2, "page_delay_first_seconds": 30, "page_delay_max_seconds": 120,
                       **more})


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    clock = Clock(START)
    with TestClient(create_app(settings_for(tmp_path), publisher=MemoryPublisher(), clock=clock)) as client:
        engine: Engine = client.app.state.auth.engine  # type: ignore[attr-defined]
        a1, a2, b1 = seed(engine)
        yield Page(client, clock, engine, a1, a2, b1)


def form_token(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, "no CSRF token in the form"
    return found.group(1)


def error_of(body: str) -> str:
    found = re.search(r'<p id="sign-in-error">(.*?)</p>', body, re.S)
    assert found, "no sign-in error shown"
    return html.unescape(found.group(1))


def sign_in(client: TestClient, staff_id: str, password: str) -> httpx.Response:
    token = form_token(client.get("/page/sign-in").text)
    response: httpx.Response = client.post(
        "/page/sign-in", data={"staff_id": staff_id, "password": password, "csrf_token": token},
        follow_redirects=False)
    return response


def signed_in_token(client: TestClient) -> str:
    """The session's CSRF token, from the sign-out form on the list."""
    return form_token(client.get("/page/").text)


def acknowledgements(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as db:
        return list(db.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == ACKNOWLEDGED)).all())


def stored(engine: Engine, notification_id: uuid.UUID) -> NotificationRow:
    with Session(engine) as db:
        row = db.get(NotificationRow, notification_id)
        assert row is not None
        return row


def set_cookie(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


def test_signed_out_every_page_goes_to_sign_in(page: Page) -> None:
    for path in ["/page/", f"/page/notifications/{page.a1}"]:
        response = page.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/page/sign-in"
    response = page.client.post(f"/page/notifications/{page.a1}/acknowledgement", data={"csrf_token": "x"},
                                follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/page/sign-in"
    assert stored(page.engine, page.a1).acknowledged_at is None


def test_a_wrong_password_gets_the_same_answer_as_an_unknown_staff_id(page: Page) -> None:
    wrong = sign_in(page.client, "dsl-a", "not the right password")
    unknown = sign_in(page.client, "nobody-here", "not the right password")
    no_password = sign_in(page.client, "", "")
    assert wrong.status_code == unknown.status_code == no_password.status_code == 401
    assert error_of(wrong.text) == error_of(unknown.text) == error_of(no_password.text)
    assert "wait and try again" in error_of(wrong.text)
    assert "fd_page_session" not in page.client.cookies
    assert "not the right password" not in wrong.text  # the password is never shown back


def test_the_session_cookie_and_the_page_headers(page: Page) -> None:
    form = page.client.get("/page/sign-in")
    presession = set_cookie(form, "fd_page_signin").lower()
    assert "httponly" in presession and "samesite=strict" in presession and "path=/page" in presession
    response = sign_in(page.client, "dsl-a", PASSWORD_A)
    cookie = set_cookie(response, "fd_page_session")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/page" in flags
    assert not [f for f in flags if f.startswith(("max-age", "expires"))]  # dies with the browser
    assert "secure" not in flags  # development's http://127.0.0.1 (production refuses it: test_production_settings)
    token = cookie.split(";")[0].split("=", 1)[1]
    with Session(page.engine) as db:
        assert [s.token_hash for s in db.exec(select(PageSessionRow)).all()] == [sessions.token_hash(token)]
    for path in ["/page/", f"/page/notifications/{page.a1}", "/page/sign-in", f"/page/notifications/{page.b1}"]:
        shown = page.client.get(path, follow_redirects=False)
        assert shown.headers["cache-control"] == "no-store", path
        assert shown.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in shown.headers["content-security-policy"]
        assert shown.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def test_the_cookie_is_secure_when_the_settings_say_so(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, cookie_secure=True), publisher=MemoryPublisher(),
                               clock=Clock(START)), base_url="https://testserver") as client:
        seed(client.app.state.auth.engine)  # type: ignore[attr-defined]
        assert "secure" in set_cookie(client.get("/page/sign-in"), "fd_page_signin").lower()
        cookie = set_cookie(sign_in(client, "dsl-a", PASSWORD_A), "fd_page_session")
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "secure" in flags and not [f for f in flags if f.startswith(("max-age", "expires"))]


def test_the_sign_in_form_needs_its_csrf_token(page: Page) -> None:
    form_token(page.client.get("/page/sign-in").text)  # the pre-session cookie is set
    for data in [{}, {"csrf_token": "forged"}]:
        response = page.client.post("/page/sign-in", data={"staff_id": "dsl-a", "password": PASSWORD_A, **data},
                                    follow_redirects=False)
        assert response.status_code == 403 and "This form has expired" in response.text
    page.client.cookies.clear()
    token = form_token(TestClient(page.client.app).get("/page/sign-in").text)  # another browser's token
    response = page.client.post("/page/sign-in", data={"staff_id": "dsl-a", "password": PASSWORD_A,
                                                       "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 403
    with Session(page.engine) as db:
        assert db.exec(select(PageSessionRow)).all() == []


def test_acknowledgement_without_the_sessions_csrf_token_is_refused_and_changes_nothing(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    other = TestClient(page.client.app)
    sign_in(other, "dsl-b", PASSWORD_B)
    for data in [{}, {"csrf_token": "forged"}, {"csrf_token": signed_in_token(other)}]:
        response = page.client.post(f"/page/notifications/{page.a1}/acknowledgement", data=data,
                                    follow_redirects=False)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
    assert stored(page.engine, page.a1).acknowledged_at is None
    assert acknowledgements(page.engine) == []


def test_a_key_adult_sees_only_their_own_schools_notifications(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    listing = page.client.get("/page/")
    assert listing.status_code == 200 and "Oakfield Primary" in listing.text
    assert "Ada Testchild" in listing.text and f"/page/notifications/{page.a1}" in listing.text
    assert "Bertie" not in listing.text and "Otherschool" not in listing.text and str(page.b1) not in listing.text
    token = signed_in_token(page.client)
    for path in [f"/page/notifications/{page.b1}", f"/page/notifications/{uuid.uuid4()}", "/page/notifications/x"]:
        shown = page.client.get(path)
        assert shown.status_code == 404 and "Page not found" in shown.text and "Bertie" not in shown.text
    refused = page.client.post(f"/page/notifications/{page.b1}/acknowledgement", data={"csrf_token": token},
                               follow_redirects=False)
    assert refused.status_code == 404 and "Page not found" in refused.text
    assert stored(page.engine, page.b1).acknowledged_at is None
    assert acknowledgements(page.engine) == []


def test_the_list_puts_unacknowledged_first_with_deadlines_in_london_time(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    token = signed_in_token(page.client)
    page.client.post(f"/page/notifications/{page.a1}/acknowledgement", data={"csrf_token": token})
    listing = page.client.get("/page/").text
    assert listing.index(str(page.a2)) < listing.index(str(page.a1))  # the acknowledged one last
    assert "Details removed" in listing and "Erasedchild" not in listing
    assert "Monday 7 December 2026, 08:45 (GMT)" in listing and "Tuesday 8 December 2026, 08:45 (GMT)" in listing
    assert "Acknowledged" in listing and "Not acknowledged" in listing
    assert "1 notification is waiting" in listing


def test_summer_deadlines_are_shown_in_british_summer_time(page: Page) -> None:
    with Session(for_writing(page.engine)) as db:
        row = db.get(NotificationRow, page.a1)
        assert row is not None
        row.deadline = datetime(2027, 6, 14, 7, 45, tzinfo=UTC)
        db.add(row)
        db.commit()
    sign_in(page.client, "dsl-a", PASSWORD_A)
    assert "Monday 14 June 2027, 08:45 (BST)" in page.client.get("/page/").text


def test_a_notification_shows_the_minimum_and_its_acknowledgement_emits_one_event(
    capsys: pytest.CaptureFixture[str], page: Page
) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    shown = page.client.get(f"/page/notifications/{page.a1}")
    text = html.unescape(shown.text)
    for expected in ["Ada Testchild", "14 March 2017", "A123456789012", "Sunday 6 December 2026, 21:15 (GMT)",
                     "Police attended", "PR/2026/0042", "normally resident", "MASH duty desk, 0300 123 4567",
                     "State: Not acknowledged", "Acknowledge: I have read this notification"]:
        assert expected in text, expected
    token = form_token(shown.text)
    page.clock.move(minutes=5)
    done = page.client.post(f"/page/notifications/{page.a1}/acknowledgement", data={"csrf_token": token},
                            follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/page/notifications/{page.a1}?done=acknowledged"
    after = page.client.get(done.headers["location"]).text
    assert "State: Acknowledged" in after and "Acknowledged by dsl-a on Monday 7 December 2026, 06:35 (GMT)" in after
    assert "You acknowledged this notification" in after and 'aria-live="polite"' in after
    assert "Acknowledge: I have read" not in after
    row = stored(page.engine, page.a1)
    assert row.acknowledged_by == "dsl-a" and row.acknowledged_at == START + timedelta(minutes=5)
    events = acknowledgements(page.engine)
    assert [e.key for e in events] == [str(page.a1)]
    again = page.client.post(f"/page/notifications/{page.a1}/acknowledgement", data={"csrf_token": token},
                             follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith("?done=already")
    assert len(acknowledgements(page.engine)) == 1
    with Session(page.engine) as db:  # the key adult's own change, audited once, as hers
        entries = db.exec(select(AuditEntry).where(AuditEntry.target == f"notification:{page.a1}")).all()
    assert [(e.actor, e.action) for e in entries] == [("staff:dsl-a", "notification.acknowledged")]
    assert stored(page.engine, page.a1).acknowledged_at == START + timedelta(minutes=5)
    logged = capsys.readouterr()
    assert "service started" in logged.out  # the service's logs are captured here
    for personal in ["Ada", "Testchild", "A123456789012", "PR/2026/0042", PASSWORD_A]:
        assert personal not in logged.out + logged.err


def test_an_erased_notification_says_its_details_were_removed(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    shown = page.client.get(f"/page/notifications/{page.a2}")
    assert shown.status_code == 200 and "Details removed" in shown.text
    assert "Gone" not in shown.text and "Erasedchild" not in shown.text


def test_names_are_escaped(page: Page) -> None:
    with Session(for_writing(page.engine)) as db:
        row = db.get(NotificationRow, page.a1)
        assert row is not None
        row.given_name = "<script>alert(1)</script>"
        db.add(row)
        db.commit()
    sign_in(page.client, "dsl-a", PASSWORD_A)
    for path in ["/page/", f"/page/notifications/{page.a1}"]:
        body = page.client.get(path).text
        assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_sign_out_needs_the_csrf_token_and_deletes_the_session(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    cookie = page.client.cookies["fd_page_session"]
    assert page.client.post("/page/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert page.client.get("/page/", follow_redirects=False).status_code == 200
    out = page.client.post("/page/sign-out", data={"csrf_token": signed_in_token(page.client)},
                           follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/page/sign-in?done=signed-out"
    assert "max-age=0" in set_cookie(out, "fd_page_session").lower()
    with Session(page.engine) as db:
        assert db.exec(select(PageSessionRow)).all() == []
    replay = TestClient(page.client.app)
    replay.cookies.set("fd_page_session", cookie, path="/page")
    assert replay.get("/page/", follow_redirects=False).headers["location"] == "/page/sign-in"
    assert "You have signed out" in page.client.get("/page/sign-in?done=signed-out").text


def test_a_session_ends_after_its_absolute_timeout_however_busy(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    for _ in range(23):  # a request every 20 minutes: never idle, for 7 h 40 min
        page.clock.move(minutes=20)
        assert page.client.get("/page/", follow_redirects=False).status_code == 200
    page.clock.move(minutes=19, seconds=59)
    assert page.client.get("/page/", follow_redirects=False).status_code == 200
    page.clock.move(seconds=1)  # 8 hours after signing in
    assert page.client.get("/page/", follow_redirects=False).headers["location"] == "/page/sign-in"


def test_a_session_ends_after_its_idle_timeout(page: Page) -> None:
    sign_in(page.client, "dsl-a", PASSWORD_A)
    page.clock.move(minutes=29, seconds=59)
    assert page.client.get("/page/", follow_redirects=False).status_code == 200  # the idle clock starts again
    page.clock.move(minutes=29, seconds=59)
    assert page.client.get(f"/page/notifications/{page.a1}", follow_redirects=False).status_code == 200
    page.clock.move(minutes=30)  # 30 minutes without a request
    for path in ["/page/", f"/page/notifications/{page.a1}"]:
        assert page.client.get(path, follow_redirects=False).headers["location"] == "/page/sign-in"
    refused = page.client.post(f"/page/notifications/{page.a1}/acknowledgement",
                               data={"csrf_token": "whatever it was"}, follow_redirects=False)
    assert refused.headers["location"] == "/page/sign-in" and stored(page.engine, page.a1).acknowledged_at is None


def test_the_page_is_accessible_html_outside_the_openapi_document(page: Page) -> None:
    assert not [path for path in page.client.get("/openapi.json").json()["paths"] if path.startswith("/page")]
    form = page.client.get("/page/sign-in").text
    assert '<html lang="en-GB">' in form
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in form
    assert 'href="#main"' in form and 'id="main"' in form
    for field in ["staff_id", "password"]:
        assert f'<label for="{field}">' in form and f'id="{field}"' in form
    css = page.client.get("/page/static/staff.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    sign_in(page.client, "dsl-a", PASSWORD_A)
    shown = page.client.get(f"/page/notifications/{page.a1}").text
    levels = [int(level) for level in re.findall(r"<h([1-6])", shown)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in pairwise(levels))


def test_a_child_sealed_with_its_key_is_named_on_the_page_until_a_tombstone_erases_it(page: Page) -> None:
    """The incident and the key as contacts publishes them, through the consumer's routes: named on the list
    and the notification's page while the key is here; 'Details removed' once the child's key is tombstoned."""
    keys, contact, child_id = ChildKeys(), uuid.uuid4(), uuid.uuid4()
    child = keys.child(contact, child_id, given_name="Sealedname", family_name="Keychild", school_urn=URN_A,
                       police_reference="PR/2026/7777")
    incident = incident_event(incident_data(contact, [child], START - timedelta(hours=9), START - timedelta(hours=8)))
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", engine=page.engine,
                             routes=subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None),
                             outbox=OutboxEvent, metrics=Metrics(), clock=page.clock)

    def read(topic: str, value: bytes | None, offset: int) -> Any:
        return ConsumerRecord(topic, 0, offset, 0, 0, str(child_id).encode(), value, None, 0, 0, [])

    assert consumer.apply_batch([read(DA, encode_event(incident), 0), read(KEYS, keys.key_bytes(child_id), 0)
                                 ]).dead_lettered == []
    sign_in(page.client, "dsl-a", PASSWORD_A)
    with Session(page.engine) as db:
        [row] = db.exec(select(NotificationRow).where(col(NotificationRow.child_id) == child_id)).all()
    assert "Sealedname Keychild" in page.client.get("/page/").text
    shown = html.unescape(page.client.get(f"/page/notifications/{row.notification_id}").text)
    assert "Sealedname Keychild" in shown and "PR/2026/7777" in shown
    assert consumer.apply_batch([read(KEYS, None, 1)]).dead_lettered == []  # the child erased
    listing = page.client.get("/page/").text
    shown = page.client.get(f"/page/notifications/{row.notification_id}").text
    assert "Sealedname" not in listing and "Details removed" in shown
    assert "Sealedname" not in shown and "PR/2026/7777" not in shown
