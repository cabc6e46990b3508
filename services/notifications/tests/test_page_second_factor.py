"""The page's second factor, in process (the real app, a clock the test
moves, codes computed by pyotp as the key adult's app would): a key adult
enrols from the page (the secret shown once, confirmed by a first code,
stored sealed) and then signs in with a code after the password; a school
that requires it leads its key adult to enrol right after the password; a
sign-in half done shows nothing of the school's; a code is taken once;
wrong codes are throttled like wrong passwords, and a sign-in half done
takes five before the password is asked again."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.database import for_writing
from frontdoor_platform.staff import accounts
from frontdoor_platform.testing import MemoryPublisher
from notifications.app import create_app
from notifications.models import AuditEntry, KeyAdultRow, PageSessionRow, RecipientRow
from notifications.page.pages import PAGES
from notifications.settings import Settings

START = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
PASSWORD = "a long passphrase of mine"
OPTIONAL, REQUIRED = "100001", "100002"  # a school that leaves it to its key adults; one that requires it


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


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Site]:
    clock = Clock(START)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'page.db'}", kafka_bootstrap="127.0.0.1:1",
                        run_consumer=False, publish_timeout_seconds=1, log_level="DEBUG", page_free_failures=2,
                        page_delay_first_seconds=30, page_delay_max_seconds=120)
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=clock)) as client:
        engine: Engine = client.app.state.auth.engine  # type: ignore[attr-defined]
        with Session(for_writing(engine)) as db:
            for urn, required in [(OPTIONAL, False), (REQUIRED, True)]:
                db.add(RecipientRow(recipient_id=urn, kind="school", name=f"School {urn}", phase="primary",
                                    channel="inbox", updated_at=START, require_second_factor=required))
                db.add(KeyAdultRow(staff_id=f"dsl-{urn}", school_urn=urn, updated_at=START))
            db.commit()
            for urn in (OPTIONAL, REQUIRED):
                assert accounts.set_password(db, PAGES.tables, f"dsl-{urn}", PASSWORD, START)
            db.commit()
        yield Site(client, clock, engine)
    logged = capsys.readouterr()
    assert PASSWORD not in logged.out + logged.err


def token_of(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, "no CSRF token in the form"
    return found.group(1)


def sign_in(site: Site, staff_id: str, password: str = PASSWORD) -> httpx.Response:
    token = token_of(site.client.get("/page/sign-in").text)
    response: httpx.Response = site.client.post("/page/sign-in", data={
        "staff_id": staff_id, "password": password, "csrf_token": token}, follow_redirects=False)
    return response


def shown_secret(body: str) -> str:
    found = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', body)
    assert found, "no secret shown"
    return found.group(1).replace(" ", "")


def enrol(site: Site, path: str = "/page/second-factor/new") -> str:
    """Enrol from the page, as the key adult would with their app; the secret."""
    page = site.client.get(path)
    assert page.status_code == 200, page.text
    secret = shown_secret(page.text)
    confirmed = site.client.post(path, data={"code": pyotp.TOTP(secret).at(site.clock()),
                                             "csrf_token": token_of(page.text)}, follow_redirects=False)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/page/?done=second-factor-set"
    return secret


def code_step(site: Site, code: str) -> httpx.Response:
    form = site.client.get("/page/second-factor")
    assert form.status_code == 200, form.status_code
    response: httpx.Response = site.client.post("/page/second-factor", data={
        "code": code, "csrf_token": token_of(form.text)}, follow_redirects=False)
    return response


def wrong_now(site: Site, secret: str) -> str:
    """A code that is none of the window's around now."""
    app = pyotp.TOTP(secret)
    window = {app.at(site.clock() + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(code for code in ("000000", "123456", "999999", "424242") if code not in window)


def adult(site: Site, staff_id: str) -> KeyAdultRow:
    with Session(site.engine) as db:
        row = db.get(KeyAdultRow, staff_id)
        assert row is not None
        return row


def test_a_key_adult_enrols_from_the_page_and_then_signs_in_with_a_code_from_their_app(site: Site) -> None:
    staff_id = f"dsl-{OPTIONAL}"
    assert sign_in(site, staff_id).headers["location"] == "/page/"  # no second factor yet: signed in
    listing = site.client.get("/page/").text
    assert "Set up a second factor" in listing
    first = shown_secret(site.client.get("/page/second-factor/new").text)
    page = site.client.get("/page/second-factor/new")
    secret = shown_secret(page.text)
    assert secret != first  # each showing is a new secret: none is shown twice
    assert html.unescape(re.search(r'<code id="uri">(.*?)</code>', page.text).group(1)) \
        == pyotp.TOTP(secret).provisioning_uri(name=staff_id, issuer_name="Front Door schools")  # type: ignore[union-attr]
    with Session(site.engine) as db:
        held = db.exec(select(PageSessionRow)).one()
        assert held.enrol_secret is not None and secret not in held.enrol_secret
    wrong = site.client.post("/page/second-factor/new", data={"code": wrong_now(site, secret),
                                                              "csrf_token": token_of(page.text)},
                             follow_redirects=False)
    assert wrong.status_code == 401 and "That code did not work" in wrong.text and secret not in wrong.text
    assert adult(site, staff_id).totp_secret is None
    forged = site.client.post("/page/second-factor/new", data={"code": pyotp.TOTP(secret).at(site.clock()),
                                                               "csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and adult(site, staff_id).totp_secret is None
    confirmed = site.client.post("/page/second-factor/new", data={
        "code": pyotp.TOTP(secret).at(site.clock()), "csrf_token": token_of(page.text)}, follow_redirects=False)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/page/?done=second-factor-set"
    enrolled = adult(site, staff_id)
    assert enrolled.totp_key_id == "development" and enrolled.totp_secret and secret not in enrolled.totp_secret
    assert "Replace your second factor" in site.client.get("/page/?done=second-factor-set").text
    with Session(site.engine) as db:  # her own change, audited as hers, without the secret
        [entry] = db.exec(select(AuditEntry).where(AuditEntry.action == "key_adult.second_factor_enrolled")).all()
        assert entry.actor == f"staff:{staff_id}" and entry.target == f"key_adult:{staff_id}"
        assert secret not in str(entry.before) + str(entry.after)

    site.client.post("/page/sign-out", data={"csrf_token": token_of(site.client.get("/page/").text)})
    half = sign_in(site, staff_id)
    assert half.status_code == 303 and half.headers["location"] == "/page/second-factor"
    for path in ["/page/", "/page/second-factor/new"]:  # half done: nothing of the school's, no enrolling
        assert site.client.get(path, follow_redirects=False).headers["location"] == "/page/second-factor"
    assert site.client.get("/page/sign-in", follow_redirects=False).headers["location"] == "/page/second-factor"
    used = pyotp.TOTP(secret).at(site.clock())  # the code that confirmed the enrolment
    assert code_step(site, used).status_code == 401  # taken once: not again
    site.clock.move(seconds=30)
    done = code_step(site, pyotp.TOTP(secret).at(site.clock()))
    assert done.status_code == 303 and done.headers["location"] == "/page/"
    new_cookie = done.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert new_cookie != half.headers["set-cookie"].split(";")[0].split("=", 1)[1]  # a new session token
    assert site.client.get("/page/", follow_redirects=False).status_code == 200
    again = site.client.post("/page/second-factor", data={"code": pyotp.TOTP(secret).at(site.clock()),
                                                          "csrf_token": "x"}, follow_redirects=False)
    assert again.headers["location"] == "/page/"  # signed in: no code step left to take


def test_a_school_that_requires_it_leads_its_key_adult_to_enrol_right_after_the_password(site: Site) -> None:
    staff_id = f"dsl-{REQUIRED}"
    half = sign_in(site, staff_id)
    assert half.status_code == 303 and half.headers["location"] == "/page/second-factor/new"
    assert site.client.get("/page/", follow_redirects=False).headers["location"] == "/page/second-factor/new"
    page = site.client.get("/page/second-factor/new")
    assert "Your school asks every key adult" in page.text and "Sign out" not in page.text.split("<main")[0]
    secret = shown_secret(page.text)
    done = site.client.post("/page/second-factor/new", data={
        "code": pyotp.TOTP(secret).at(site.clock()), "csrf_token": token_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/page/?done=second-factor-set"
    assert "fd_page_session=" in done.headers["set-cookie"]  # the half-done session replaced
    listing = site.client.get("/page/?done=second-factor-set")
    assert listing.status_code == 200 and f"School {REQUIRED}" in listing.text
    site.client.post("/page/sign-out", data={"csrf_token": token_of(listing.text)})
    site.clock.move(seconds=30)
    assert sign_in(site, staff_id).headers["location"] == "/page/second-factor"  # a code from now on
    assert code_step(site, pyotp.TOTP(secret).at(site.clock())).headers["location"] == "/page/"


def test_wrong_codes_are_throttled_like_passwords_and_five_send_the_key_adult_back_to_the_password(
        site: Site) -> None:
    staff_id = f"dsl-{OPTIONAL}"
    sign_in(site, staff_id)
    secret = enrol(site)
    site.client.post("/page/sign-out", data={"csrf_token": token_of(site.client.get("/page/").text)})
    site.clock.move(seconds=30)
    assert sign_in(site, staff_id).headers["location"] == "/page/second-factor"
    for _ in range(3):  # two free failures, the third makes the next attempt wait 30 s
        refused = code_step(site, wrong_now(site, secret))
        assert refused.status_code == 401 and "That code did not work" in refused.text
    too_soon = code_step(site, pyotp.TOTP(secret).at(site.clock()))
    assert too_soon.status_code == 401  # even the right code waits for the delay
    site.clock.move(seconds=30)
    site.client.post("/page/sign-out", data={"csrf_token": token_of(site.client.get("/page/second-factor").text)})
    assert sign_in(site, staff_id).headers["location"] == "/page/second-factor"  # the password again...
    assert code_step(site, wrong_now(site, secret)).status_code == 401  # ...cleared nothing: the 4th, 60 s
    assert code_step(site, pyotp.TOTP(secret).at(site.clock())).status_code == 401
    site.clock.move(seconds=60)
    assert code_step(site, pyotp.TOTP(secret).at(site.clock())).headers["location"] == "/page/"

    site.client.post("/page/sign-out", data={"csrf_token": token_of(site.client.get("/page/").text)})
    site.clock.move(seconds=30)
    assert sign_in(site, staff_id).headers["location"] == "/page/second-factor"
    answers = []
    for wait in (0, 0, 30, 60, 120):  # five wrong codes, each after the delay the one before earned
        site.clock.move(seconds=wait)
        answers.append(code_step(site, wrong_now(site, secret)))
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 303]
    assert answers[-1].headers["location"] == "/page/sign-in?done=start-again"
    assert site.client.get("/page/", follow_redirects=False).headers["location"] == "/page/sign-in"
    with Session(site.engine) as db:
        assert db.exec(select(PageSessionRow)).all() == []
