"""A key adult sets their own password, in process (the real app and its
admin API, a clock the test moves): the admin issues a one-time code (and
the page's link with it), never a password; the key adult sets the
password on the page with it (CSRF, the policy, the same password twice),
and the code is burned: used, replaced by a newer one, expired, given for
another key adult or for a removed account, it does nothing. Wrong codes
are throttled like passwords, right ones are not counted against the
address. A new password ends every session; a removed key adult's session
is refused at once and does not revive when the staff id is added back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.database import for_writing
from frontdoor_platform.testing import MemoryPublisher
from notifications.access import keyring
from notifications.app import create_app
from notifications.models import KeyAdultRow, PageSessionRow, PasswordLinkRow
from notifications.settings import Settings

START = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
URN = "100001"
PASSWORD, OTHER = "my very own passphrase", "another long passphrase"


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Site:
    client: TestClient
    clock: Clock
    engine: Engine
    admin: dict[str, str]

    def put_school(self, *staff_ids: str) -> None:
        body = {"name": "Oakfield Primary", "phase": "primary", "channel": "inbox",
                "key_adults": [{"staff_id": s, "email": f"{s}@school.example"} for s in staff_ids]}
        assert self.client.put(f"/v1/schools/{URN}", json=body, headers=self.admin).status_code in (200, 201)

    def link(self, staff_id: str) -> dict[str, Any]:
        issued = self.client.post(f"/v1/key-adults/{staff_id}/password-link", headers=self.admin)
        assert issued.status_code == 201, issued.text
        found: dict[str, Any] = issued.json()
        return found


def open_site(tmp_path: Path, **more: Any) -> Iterator[Site]:
    clock = Clock(START)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'page.db'}", kafka_bootstrap="127.0.0.1:1",
                        run_consumer=False, publish_timeout_seconds=1, page_free_failures=2,
                        page_delay_first_seconds=30, page_delay_max_seconds=120,
                        page_url="https://frontdoor.example/page/", **more)
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=clock)) as client:
        engine: Engine = client.app.state.auth.engine  # type: ignore[attr-defined]
        with Session(for_writing(engine)) as db:
            admin = keyring().create(db, "la-directory-admin", {"admin"}, START)
        site = Site(client, clock, engine, {"Authorization": f"Bearer {admin}"})
        site.put_school("dsl-a", "dsl-b")
        yield site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from open_site(tmp_path)


def token_of(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, "no CSRF token in the form"
    return found.group(1)


def set_password(browser: TestClient, staff_id: str, code: str, password: str = PASSWORD,
                 again: str | None = None, form: str = "/page/set-password") -> httpx.Response:
    token = token_of(browser.get(form).text)
    response: httpx.Response = browser.post("/page/set-password", data={
        "staff_id": staff_id, "code": code, "password": password, "password_again": again or password,
        "csrf_token": token}, follow_redirects=False)
    return response


def sign_in(browser: TestClient, staff_id: str, password: str) -> httpx.Response:
    token = token_of(browser.get("/page/sign-in").text)
    response: httpx.Response = browser.post("/page/sign-in", data={
        "staff_id": staff_id, "password": password, "csrf_token": token}, follow_redirects=False)
    return response


def password_set(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"] == "/page/sign-in?done=password-set"


def test_the_key_adult_sets_their_own_password_with_the_link_and_it_is_burned_after_use(site: Site) -> None:
    issued = site.link("dsl-a")
    assert set(issued) == {"code", "link", "expires_at"}  # a code, never a password
    assert re.fullmatch(r"[A-Z2-9]{5}(-[A-Z2-9]{5}){3}", issued["code"])
    assert issued["link"] == f"https://frontdoor.example/page/set-password?code={issued['code']}"
    form = site.client.get(urlsplit(issued["link"]).path + "?" + urlsplit(issued["link"]).query)
    assert form.status_code == 200 and f'value="{issued["code"]}"' in form.text
    assert form.headers["referrer-policy"] == "no-referrer" and form.headers["cache-control"] == "no-store"
    with Session(site.engine) as db:
        [stored] = db.exec(select(PasswordLinkRow)).all()
        assert stored.token_hash != issued["code"] and issued["code"] not in stored.token_hash
    done = set_password(site.client, "dsl-a", issued["code"].lower().replace("-", " "))  # as typed
    assert password_set(done)
    assert "Your password is set" in site.client.get(done.headers["location"]).text
    assert sign_in(site.client, "dsl-a", PASSWORD).headers["location"] == "/page/"
    browser = TestClient(site.client.app)
    again = set_password(browser, "dsl-a", issued["code"], OTHER)  # the same code, a second time
    assert again.status_code == 401 and "the code may have been used already" in again.text
    assert OTHER not in again.text and issued["code"] not in again.text.split("</form>")[-1]
    assert sign_in(browser, "dsl-a", OTHER).status_code == 401
    with Session(site.engine) as db:
        assert db.exec(select(PasswordLinkRow)).all() == []
    entries = site.client.get("/v1/audit", params={"target": "key_adult:dsl-a"}, headers=site.admin).json()
    assert [(e["action"], e["actor"].split(":")[0]) for e in entries["entries"]] == [
        ("key_adult.password_link_issued", "client"), ("key_adult.password_set", "staff")]  # the admin's, then hers
    assert entries["entries"][1]["actor"] == "staff:dsl-a" and PASSWORD not in json.dumps(entries)


def test_a_code_expires_is_replaced_by_a_newer_one_and_is_for_its_key_adult_only(site: Site) -> None:
    first = site.link("dsl-a")["code"]
    second = site.link("dsl-a")["code"]
    assert set_password(site.client, "dsl-a", first).status_code == 401  # replaced by the newer one
    assert set_password(site.client, "dsl-b", second).status_code == 401  # given for dsl-a, not dsl-b
    site.clock.move(minutes=60)  # password_link_minutes
    assert set_password(site.client, "dsl-a", second).status_code == 401  # expired: burned
    with Session(site.engine) as db:
        assert db.exec(select(PasswordLinkRow)).all() == []
    site.clock.move(seconds=30)  # the delay the three wrong codes earned
    assert password_set(set_password(site.client, "dsl-a", site.link("dsl-a")["code"]))


def test_the_form_needs_its_csrf_token_the_policy_and_the_same_password_twice(site: Site) -> None:
    code = site.link("dsl-a")["code"]
    forged = site.client.post("/page/set-password", data={"staff_id": "dsl-a", "code": code, "password": PASSWORD,
                                                         "password_again": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 403
    short = set_password(site.client, "dsl-a", code, "short pass")
    assert short.status_code == 422 and "at least 12 characters" in short.text and "short pass" not in short.text
    differ = set_password(site.client, "dsl-a", code, PASSWORD, OTHER)
    assert differ.status_code == 422 and "not the same" in differ.text
    assert password_set(set_password(site.client, "dsl-a", code))  # none of those used the code up
    with Session(site.engine) as db:
        adult = db.get(KeyAdultRow, "dsl-a")
        assert adult is not None and adult.password_hash and adult.password_hash.startswith("$argon2id$")


def test_wrong_codes_are_throttled_and_right_ones_are_not_counted_against_the_address(tmp_path: Path) -> None:
    for site in open_site(tmp_path, page_address_limit="2/hour"):
        site.put_school("dsl-a", "dsl-b", "dsl-c")
        for staff_id in ("dsl-a", "dsl-b", "dsl-c"):  # three right codes from one address: none counted
            assert password_set(set_password(site.client, staff_id, site.link(staff_id)["code"]))
        code = site.link("dsl-a")["code"]
        for _ in range(2):
            assert set_password(site.client, "dsl-b", "WRONG-WRONG-WRONG-WRONG").status_code == 401
        assert set_password(site.client, "dsl-a", code).status_code == 401  # the address's two are spent
        assert password_set(set_password(TestClient(site.client.app, client=("203.0.113.9", 50000)), "dsl-a", code))


def test_a_wrong_code_delays_the_next_attempt_like_a_wrong_password(site: Site) -> None:
    code = site.link("dsl-a")["code"]
    for _ in range(3):  # two free, the third makes the next attempt wait 30 s
        assert set_password(site.client, "dsl-a", "WRONG-WRONG-WRONG-WRONG").status_code == 401
    assert set_password(site.client, "dsl-a", code).status_code == 401  # even the right code waits
    site.clock.move(seconds=30)
    assert password_set(set_password(site.client, "dsl-a", code))


def test_a_new_password_ends_every_session_of_the_account(site: Site) -> None:
    assert password_set(set_password(site.client, "dsl-a", site.link("dsl-a")["code"]))
    elsewhere = TestClient(site.client.app)
    assert sign_in(elsewhere, "dsl-a", PASSWORD).headers["location"] == "/page/"
    assert password_set(set_password(site.client, "dsl-a", site.link("dsl-a")["code"], OTHER))
    assert elsewhere.get("/page/", follow_redirects=False).headers["location"] == "/page/sign-in"


def test_a_removed_key_adults_session_is_refused_and_does_not_revive_when_added_back(site: Site) -> None:
    assert password_set(set_password(site.client, "dsl-a", site.link("dsl-a")["code"]))
    assert sign_in(site.client, "dsl-a", PASSWORD).headers["location"] == "/page/"
    pending = site.link("dsl-a")["code"]
    cookie = site.client.cookies["fd_page_session"]
    site.put_school("dsl-b")  # dsl-a removed
    assert site.client.get("/page/", follow_redirects=False).headers["location"] == "/page/sign-in"
    site.put_school("dsl-a", "dsl-b")  # the same staff id added back: a new account
    replay = TestClient(site.client.app)
    replay.cookies.set("fd_page_session", cookie, path="/page")
    assert replay.get("/page/", follow_redirects=False).headers["location"] == "/page/sign-in"
    assert sign_in(replay, "dsl-a", PASSWORD).status_code == 401  # no password on the new account
    assert set_password(replay, "dsl-a", pending).status_code == 401  # nor the removed account's code
    with Session(site.engine) as db:
        assert [s.staff_id for s in db.exec(select(PageSessionRow)).all()] == []
