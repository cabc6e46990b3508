"""Signing in to the schools' page under attack, in process (the real app,
a clock the test moves, browsers at different client addresses): the delay
grows and is capped; another address failing on the account never keeps
its key adult out; the per-address and per-account limits, which spare an
address the account signed in from; unknown staff ids answered exactly
like real ones; argon2 outside any transaction (another writer commits on
SQLite while a verification is held) and off the event loop; and the bound
on verifications at once, which answers 503 at once past it but keeps a
slot for an address the account signed in from."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing
from frontdoor_platform.staff import accounts
from frontdoor_platform.testing import MemoryPublisher
from notifications.app import create_app
from notifications.models import KeyAdultRow, RecipientRow
from notifications.page.pages import PAGES
from notifications.settings import Settings

START = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
PASSWORD = "school A's long passphrase"
WRONG = "not the right password"
SCHOOL, OWNER, ELSEWHERE, THIRD = "198.51.100.7", "198.51.100.8", "203.0.113.9", "192.0.2.44"
WAIT = 15  # seconds the held verification waits for the test at most (never reached when all is well)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class CountingHasher(PasswordHasher):
    """argon2 as usual, counting verifications; `hold()` makes the next one wait for `release`."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0
        self.held, self.entered, self.release = False, threading.Event(), threading.Event()

    def hold(self) -> None:
        self.held = True
        self.entered.clear()
        self.release.clear()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        if self.held:
            self.held = False
            self.entered.set()
            self.release.wait(WAIT)
        return super().verify(hash, password)


@dataclass
class Site:
    client: TestClient
    clock: Clock
    engine: Engine
    hasher: CountingHasher
    path: Path

    def at(self, address: str) -> TestClient:
        """A browser at `address`, on the running app's event loop."""
        browser = TestClient(self.client.app, client=(address, 50000))
        browser.portal = self.client.portal
        return browser


def open_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Iterator[Site]:
    clock = Clock(START)
    config = Settings(database_url=f"sqlite:///{tmp_path / 'page.db'}", kafka_bootstrap="127.0.0.1:1",
                      run_consumer=False, publish_timeout_seconds=1, log_level="DEBUG",
                      **{"page_free_failures": 2, "page_delay_first_seconds": 30, "page_delay_max_seconds": 120,
                         **settings})
    with TestClient(create_app(config, publisher=MemoryPublisher(), clock=clock), client=(SCHOOL, 50000)) as client:
        engine: Engine = client.app.state.auth.engine  # type: ignore[attr-defined]
        hasher = CountingHasher()
        monkeypatch.setattr(accounts, "HASHER", hasher)
        with Session(for_writing(engine)) as db:
            db.add(RecipientRow(recipient_id="100001", kind="school", name="Oakfield Primary", phase="primary",
                                channel="inbox", updated_at=START))
            for staff_id in ("dsl-a", "dsl-b"):
                db.add(KeyAdultRow(staff_id=staff_id, school_urn="100001", updated_at=START))
            db.commit()
            for staff_id in ("dsl-a", "dsl-b"):
                assert accounts.set_password(db, PAGES.tables, staff_id, PASSWORD, START)
            db.commit()
        yield Site(client, clock, engine, hasher, tmp_path / "page.db")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from open_site(tmp_path, monkeypatch)


def sign_in(browser: TestClient, staff_id: str, password: str) -> httpx.Response:
    form = browser.get("/page/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "no CSRF token in the form"
    response: httpx.Response = browser.post("/page/sign-in", data={"staff_id": staff_id, "password": password,
                                                                   "csrf_token": token.group(1)},
                                            follow_redirects=False)
    if response.status_code == 303:
        browser.cookies.clear()  # signed in: the next sign-in starts afresh
    return response


def error_of(response: httpx.Response) -> str:
    found = re.search(r'<p id="sign-in-error">(.*?)</p>', response.text, re.S)
    assert found, "no sign-in error shown"
    return found.group(1)


def signed(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"] == "/page/"


def refused(response: httpx.Response, like: httpx.Response) -> bool:
    return response.status_code == 401 and error_of(response) == error_of(like)


def test_the_delay_grows_with_each_failure_and_is_capped(site: Site) -> None:
    owner = site.at(OWNER)
    first = sign_in(owner, "dsl-a", WRONG)
    assert first.status_code == 401 and "wait and try again" in error_of(first)
    assert refused(sign_in(owner, "dsl-a", WRONG), first)  # two free failures: no delay yet
    for wait in (30, 60, 120, 120):  # the third and later failures: 30 s, doubling, at most 120 s
        assert refused(sign_in(owner, "dsl-a", WRONG), first)
        verified = site.hasher.verified
        site.clock.move(seconds=wait - 1)
        assert refused(sign_in(owner, "dsl-a", PASSWORD), first)  # even the right password waits
        assert site.hasher.verified == verified  # and costs no argon2
        site.clock.move(seconds=1)
    assert signed(sign_in(owner, "dsl-a", PASSWORD))
    assert refused(sign_in(owner, "dsl-a", WRONG), first)  # signed in: the count starts again
    assert refused(sign_in(owner, "dsl-a", WRONG), first)
    assert signed(sign_in(owner, "dsl-a", PASSWORD))


def test_another_address_failing_never_keeps_the_key_adult_out(site: Site) -> None:
    attacker, owner = site.at(ELSEWHERE), site.at(OWNER)
    for _ in range(6):
        assert sign_in(attacker, "dsl-a", WRONG).status_code == 401
        site.clock.move(seconds=121)  # always past its delay: it fails again at once
    assert signed(sign_in(owner, "dsl-a", PASSWORD))
    for _ in range(3):  # the key adult's own typos earn their own delay (30 s)...
        assert sign_in(owner, "dsl-a", WRONG).status_code == 401
    assert sign_in(owner, "dsl-a", PASSWORD).status_code == 401
    for _ in range(3):  # ... while the attacker keeps failing
        site.clock.move(seconds=10)
        assert sign_in(attacker, "dsl-a", WRONG).status_code == 401
    assert signed(sign_in(owner, "dsl-a", PASSWORD))  # after that delay, whatever the attacker does
    with Session(site.engine) as db:
        adult = db.get(KeyAdultRow, "dsl-a")
        assert adult is not None and adult.failed_attempts == 0


def test_one_address_may_try_so_many_times_across_accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for site in open_site(tmp_path, monkeypatch, page_address_limit="4/hour"):
        sprayer, owner = site.at(ELSEWHERE), site.at(OWNER)
        assert signed(sign_in(owner, "dsl-a", PASSWORD))  # the owner's address, trusted for dsl-a from now on
        first = sign_in(sprayer, "dsl-100001", WRONG)
        for staff_id in ("dsl-100002", "dsl-100003", "dsl-b"):
            assert refused(sign_in(sprayer, staff_id, WRONG), first)
        verified = site.hasher.verified
        assert refused(sign_in(sprayer, "dsl-a", PASSWORD), first)  # the fifth, even right: refused unverified
        assert site.hasher.verified == verified
        assert signed(sign_in(site.at(THIRD), "dsl-b", PASSWORD))  # another address is not touched
        for staff_id in ("dsl-100004", "dsl-100005", "dsl-100006", "dsl-100007"):
            assert sign_in(owner, staff_id, WRONG).status_code == 401  # the owner's address spends its own
        assert refused(sign_in(owner, "dsl-b", PASSWORD), first)  # an account new to this address: refused
        assert signed(sign_in(owner, "dsl-a", PASSWORD))  # the account that signed in here: spared


def test_one_account_may_be_tried_so_many_times_across_addresses(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for site in open_site(tmp_path, monkeypatch, page_account_limit="4/hour"):
        assert signed(sign_in(site.at(SCHOOL), "dsl-a", PASSWORD))  # the school's address, trusted for dsl-a
        first = sign_in(site.at("203.0.113.1"), "dsl-a", WRONG)
        for n in range(2, 5):
            assert refused(sign_in(site.at(f"203.0.113.{n}"), "dsl-a", WRONG), first)
        verified = site.hasher.verified
        assert refused(sign_in(site.at(OWNER), "dsl-a", PASSWORD), first)  # a new address: refused unverified
        assert site.hasher.verified == verified
        assert signed(sign_in(site.at(SCHOOL), "dsl-a", PASSWORD))  # the school's address is spared
        assert signed(sign_in(site.at(OWNER), "dsl-b", PASSWORD))  # other accounts are not touched


def test_an_unknown_staff_id_is_answered_exactly_like_a_real_one(site: Site) -> None:
    browser = site.at(ELSEWHERE)
    answers: dict[str, list[tuple[int, str, int]]] = {}
    for staff_id in ("dsl-a", "dsl-999999"):
        answers[staff_id] = []
        for _ in range(4):  # two free failures, a third that sets the delay, a fourth refused for it
            before = site.hasher.verified
            response = sign_in(browser, staff_id, WRONG)
            answers[staff_id].append((response.status_code, error_of(response), site.hasher.verified - before))
    assert answers["dsl-a"] == answers["dsl-999999"]
    assert [verified for _, _, verified in answers["dsl-a"]] == [1, 1, 1, 0]
    assert len({text for _, text, _ in answers["dsl-a"]}) == 1


def held_sign_in(site: Site, browser: TestClient, password: str) -> tuple[threading.Thread, list[httpx.Response]]:
    """A sign-in whose argon2 verification waits for the test to release it."""
    site.hasher.hold()
    answers: list[httpx.Response] = []
    form = browser.get("/page/sign-in").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found
    token = found.group(1)
    thread = threading.Thread(target=lambda: answers.append(browser.post(
        "/page/sign-in", data={"staff_id": "dsl-a", "password": password, "csrf_token": token},
        follow_redirects=False)))
    thread.start()
    assert site.hasher.entered.wait(WAIT), "the sign-in never reached argon2"
    return thread, answers


def test_argon2_runs_outside_any_transaction_and_off_the_event_loop(site: Site) -> None:
    thread, answers = held_sign_in(site, site.at(OWNER), PASSWORD)
    try:
        # Another writer takes SQLite's write lock and commits while argon2 is held: it would wait for the
        # lock (and fail after its 2 s timeout) if the sign-in held a write transaction.
        other = sqlite3.connect(site.path, timeout=2, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE key_adults SET email = 'new@school.example' WHERE staff_id = 'dsl-b'")
        other.execute("COMMIT")
        other.close()
        assert site.client.get("/page/sign-in").status_code == 200  # the event loop still answers
    finally:
        site.hasher.release.set()
        thread.join(WAIT)
    assert len(answers) == 1 and signed(answers[0])
    with Session(site.engine) as db:
        adult = db.get(KeyAdultRow, "dsl-b")
        assert adult is not None and adult.email == "new@school.example"


def test_past_the_bound_on_verifications_the_page_answers_busy_at_once(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for site in open_site(tmp_path, monkeypatch, page_verifications_at_once=1, page_address_limit="1/hour"):
        assert signed(sign_in(site.at(SCHOOL), "dsl-a", PASSWORD))  # the school's address, trusted for dsl-a
        thread, answers = held_sign_in(site, site.at(OWNER), WRONG)  # fills the one slot for everyone
        try:
            busy = sign_in(site.at(ELSEWHERE), "dsl-b", PASSWORD)  # answered while the first is still held
            assert not answers
            assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
            assert "busy" in error_of(busy) and "try again" in error_of(busy)
            assert busy.headers["cache-control"] == "no-store"
            assert signed(sign_in(site.at(SCHOOL), "dsl-a", PASSWORD))  # the slot kept for trusted addresses
        finally:
            site.hasher.release.set()
            thread.join(WAIT)
        assert len(answers) == 1 and answers[0].status_code == 401
        # busy cost nothing: this address's one attempt an hour is still there
        assert signed(sign_in(site.at(ELSEWHERE), "dsl-b", PASSWORD))
