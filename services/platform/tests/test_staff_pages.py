"""The kit's staff pages in process, on a tiny service's own tables (a real
SQLite database, argon2 for real): signing in and out, the one answer to a
wrong password, the throttle's delay, the absolute and idle timeouts, a
form without the session's CSRF token refused, a one-time set-password
link, and whatever a page shows escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from staff_kit_tables import PAGES, PASSWORD, KitStaffAccount, KitStaffSession, add_account, staff_app, staff_engine
from staff_kit_tables import Clock as FakeClock

from frontdoor_platform.staff import links

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = staff_engine(tmp_path)
    add_account(built, "coord-1", frozenset({"coordinator"}), "agency-a")
    yield built
    built.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(staff_app(engine, clock, session_hours=8, session_idle_minutes=30,
                              page_delay_max_seconds=300, source_uri="urn:test")) as made:
        yield made


def token_of(response: httpx.Response) -> str:
    found = CSRF.search(response.text)
    assert found is not None
    return html.unescape(str(found.group(1)))


def sign_in(client: TestClient, staff_id: str = "coord-1", password: str = PASSWORD) -> httpx.Response:
    form = client.get("/board/sign-in")
    return client.post("/board/sign-in", data={"staff_id": staff_id, "password": password,
                                                "csrf_token": token_of(form)}, follow_redirects=False)


def test_no_session_goes_to_sign_in_and_the_right_password_signs_in(client: TestClient) -> None:
    first = client.get("/board/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/board/sign-in"
    signed = sign_in(client)
    assert signed.status_code == 303 and signed.headers["location"] == "/board/"
    cookie = signed.headers["set-cookie"]
    assert "fd_board_session=" in cookie and "HttpOnly" in cookie and "Path=/board" in cookie
    assert "Max-Age" not in cookie.split("fd_board_signin")[0]
    page = client.get("/board/")
    assert page.status_code == 200
    assert 'id="signed-in-as"' in page.text and "coord-1" in page.text
    assert '<p id="scope">agency-a</p>' in page.text
    assert '<meta http-equiv="refresh" content="60; url=/board/?refreshed=1">' in page.text
    assert "Monday 7 December 2026, 07:30 (GMT)" in page.text  # the london filter
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "Early Help allocations" in page.text


def test_a_wrong_password_and_an_unknown_staff_id_get_the_same_answer(client: TestClient,
                                                                       engine: Engine) -> None:
    wrong = sign_in(client, password="not the password at all")
    unknown = sign_in(client, staff_id="nobody-here")
    assert wrong.status_code == unknown.status_code == 401
    assert "Sign-in was not possible with those details" in wrong.text
    assert wrong.text.replace("coord-1", "X").count("not possible") == unknown.text.count("not possible")
    assert "set-cookie" not in wrong.headers or "fd_board_session" not in wrong.headers["set-cookie"]
    with Session(engine) as db:
        account = db.get(KitStaffAccount, "coord-1")
        assert account is not None and account.failed_attempts == 1
    assert client.get("/board/", follow_redirects=False).status_code == 303


def test_the_throttle_delays_after_the_free_failures_and_the_right_password_then_waits(
        client: TestClient, clock: FakeClock) -> None:
    for _ in range(3):  # two free failures, then a delay of one second starts
        assert sign_in(client, password="not the password at all").status_code == 401
    delayed = sign_in(client)  # the right password, too soon: refused like a wrong one, no argon2
    assert delayed.status_code == 401
    clock.advance(seconds=1)
    assert sign_in(client).status_code == 303


def test_the_session_ends_after_the_idle_and_the_absolute_timeouts(client: TestClient, clock: FakeClock) -> None:
    assert sign_in(client).status_code == 303
    clock.advance(minutes=29)
    assert client.get("/board/", follow_redirects=False).status_code == 200  # within the idle time: touched
    clock.advance(minutes=29)
    assert client.get("/board/", follow_redirects=False).status_code == 200
    clock.advance(minutes=31)
    assert client.get("/board/", follow_redirects=False).headers["location"] == "/board/sign-in"
    assert sign_in(client).status_code == 303
    for _ in range(20):  # busy all day: the absolute timeout still ends it
        clock.advance(minutes=25)
        client.get("/board/", follow_redirects=False)
    assert client.get("/board/", follow_redirects=False).headers["location"] == "/board/sign-in"


def test_a_page_reloading_itself_never_keeps_an_unattended_session_alive(client: TestClient,
                                                                         clock: FakeClock) -> None:
    assert sign_in(client).status_code == 303
    for _ in range(4):  # a board left open on a projector: its own reloads for 40 minutes
        clock.advance(minutes=10)
        reload = client.get("/board/?refreshed=1", follow_redirects=False)
    assert reload.status_code == 303 and reload.headers["location"] == "/board/sign-in"  # idle since sign-in
    assert sign_in(client).status_code == 303
    clock.advance(minutes=20)
    assert client.get("/board/", follow_redirects=False).status_code == 200  # someone at the keyboard: touched
    clock.advance(minutes=20)
    assert client.get("/board/?refreshed=1", follow_redirects=False).status_code == 200  # 20 minutes idle


def test_a_form_without_the_sessions_csrf_token_is_refused(client: TestClient) -> None:
    assert sign_in(client).status_code == 303
    page = client.get("/board/")
    refused = client.post("/board/cases/c1/allocate", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert "reload it and try again" in refused.text
    missing = client.post("/board/cases/c1/allocate", data={}, follow_redirects=False)
    assert missing.status_code == 403
    done = client.post("/board/cases/c1/allocate", data={"csrf_token": token_of(page)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/board/?done=allocated-c1-agency-a"
    client.cookies.clear()
    signed_out = client.post("/board/cases/c1/allocate", data={"csrf_token": token_of(page)},
                             follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/board/sign-in"


def test_a_sign_in_form_without_its_double_submit_cookie_is_refused(client: TestClient) -> None:
    form = client.get("/board/sign-in")
    client.cookies.clear()
    refused = client.post("/board/sign-in", data={"staff_id": "coord-1", "password": PASSWORD,
                                                  "csrf_token": token_of(form)}, follow_redirects=False)
    assert refused.status_code == 403 and "This form has expired" in refused.text


def test_signing_out_ends_the_session_on_the_server(client: TestClient, engine: Engine) -> None:
    assert sign_in(client).status_code == 303
    stolen = dict(client.cookies)
    page = client.get("/board/")
    out = client.post("/board/sign-out", data={"csrf_token": token_of(page)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/board/sign-in?done=signed-out"
    with Session(engine) as db:
        assert db.exec(select(KitStaffSession)).all() == []
    client.cookies.update(stolen)  # the old cookie names nothing any more
    assert client.get("/board/", follow_redirects=False).headers["location"] == "/board/sign-in"
    assert "You have signed out." in client.get("/board/sign-in?done=signed-out").text


def test_a_set_password_link_works_once_and_ends_the_sessions(client: TestClient, engine: Engine,
                                                              clock: FakeClock) -> None:
    assert sign_in(client).status_code == 303
    with Session(engine) as db:
        issued = links.issue(db, PAGES.tables, "coord-1", clock(), timedelta(minutes=60))
        db.commit()
    assert issued is not None
    code = issued[0]
    form = client.get(f"/board/password/{code}")
    assert form.status_code == 200 and f'value="{code}"' in form.text
    data = {"staff_id": "coord-1", "code": code.lower().replace("-", " "), "password": "a new long passphrase",
            "password_again": "a new long passphrase", "csrf_token": token_of(form)}
    short = client.post("/board/set-password", data={**data, "password": "short", "password_again": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = client.post("/board/set-password", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/board/sign-in?done=password-set"
    assert client.get("/board/", follow_redirects=False).status_code == 303  # the sessions ended with it
    fresh = token_of(client.get("/board/set-password"))
    again = client.post("/board/set-password", data={**data, "csrf_token": fresh})
    assert again.status_code == 401 and "the code may have been used already" in again.text
    assert sign_in(client, password=PASSWORD).status_code == 401
    clock.advance(seconds=1)
    assert sign_in(client, password="a new long passphrase").status_code == 303


def test_what_a_page_shows_is_escaped(client: TestClient) -> None:
    assert sign_in(client).status_code == 303
    page = client.get("/board/", params={"label": '<script>alert("x")</script>'})
    assert "<script>" not in page.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    client.cookies.clear()
    unknown = sign_in(client, staff_id='<b onload="x">')
    assert unknown.status_code == 401 and '<b onload' not in unknown.text and "&lt;b onload=" in unknown.text


def test_an_error_under_the_prefix_is_a_page_that_says_what_to_do(engine: Engine, clock: FakeClock) -> None:
    with TestClient(staff_app(engine, clock), raise_server_exceptions=False) as client:
        missing = client.get("/board/no-such-page")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
        assert "Page not found" in missing.text and "check it is correct" in missing.text
        wrong = client.delete("/board/sign-in")
        assert wrong.status_code == 405 and "use its links and buttons" in wrong.text
        assert sign_in(client).status_code == 303
        busy = client.get("/board/busy")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "Not available just now" in busy.text and "try again in a minute" in busy.text
        broken = client.get("/board/broken")
        assert broken.status_code == 500 and "Something went wrong" in broken.text
        assert "a fault of ours" not in broken.text and "RuntimeError" not in broken.text
        api = client.get("/v1/things/not-a-number")  # outside the prefix: the app's problem+json, untouched
        assert api.status_code == 422 and api.headers["content-type"] == "application/problem+json"


def test_a_page_for_a_role_refuses_staff_without_it(client: TestClient, engine: Engine) -> None:
    add_account(engine, "worker-1", frozenset({"agency"}), "agency-b")
    assert sign_in(client).status_code == 303
    assert client.get("/board/coordination").status_code == 200
    client.cookies.clear()
    assert sign_in(client, staff_id="worker-1").status_code == 303
    refused = client.get("/board/coordination")
    assert refused.status_code == 403 and "does not have the role this page needs" in refused.text
    assert client.get("/board/").status_code == 200  # signed in all the same
