"""The kit's optional second factor (pages given a sealer): an account the
service requires one of enrols right after the password (the secret shown
once, confirmed by a first code), then signs in with a code from the app;
a wrong code is refused and five send it back to the password; a code is
never taken twice."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from staff_kit_tables import PASSWORD, add_account, staff_app, staff_engine
from staff_kit_tables import Clock as FakeClock

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = staff_engine(tmp_path)
    add_account(built, "coord-1", frozenset({"coordinator"}), None)
    yield built
    built.dispose()


def token_of(response: httpx.Response) -> str:
    found = CSRF.search(response.text)
    assert found is not None
    return html.unescape(str(found.group(1)))


def sign_in(client: TestClient) -> httpx.Response:
    form = client.get("/chronology/sign-in")
    return client.post("/chronology/sign-in", data={"staff_id": "coord-1", "password": PASSWORD,
                                                     "csrf_token": token_of(form)}, follow_redirects=False)


def test_enrol_then_sign_in_with_a_code_and_never_the_same_code_twice(engine: Engine) -> None:
    clock = FakeClock()
    with TestClient(staff_app(engine, clock, page_free_failures=10)) as client:
        assert sign_in(client).headers["location"] == "/chronology/second-factor/new"  # required: enrol next
        assert client.get("/chronology/", follow_redirects=False).headers["location"] \
            == "/chronology/second-factor/new"  # nothing else until then
        shown = client.get("/chronology/second-factor/new")
        assert "This service asks everyone to sign in with a code" in shown.text
        secret = re.search(r'<code id="secret">(.*?)</code>', shown.text)
        assert secret is not None
        app = pyotp.TOTP(secret.group(1).replace(" ", ""))
        wrong = client.post("/chronology/second-factor/new", data={"code": "000000", "csrf_token": token_of(shown)})
        assert wrong.status_code == 401 and "That code did not work" in wrong.text
        done = client.post("/chronology/second-factor/new", data={"code": app.at(clock()),
                                                                   "csrf_token": token_of(shown)},
                           follow_redirects=False)
        assert done.headers["location"] == "/chronology/?done=second-factor-set"
        assert client.get("/chronology/").status_code == 200
        client.cookies.clear()
        assert sign_in(client).headers["location"] == "/chronology/second-factor"  # enrolled: a code next
        form = client.get("/chronology/second-factor")
        reused = client.post("/chronology/second-factor", data={"code": app.at(clock()),
                                                                "csrf_token": token_of(form)})
        assert reused.status_code == 401  # the code the enrolment took is not taken again
        clock.advance(seconds=30)
        signed = client.post("/chronology/second-factor", data={"code": app.at(clock()),
                                                                "csrf_token": token_of(form)},
                             follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/chronology/"
        assert client.get("/chronology/").status_code == 200


def test_five_wrong_codes_send_the_sign_in_back_to_the_password(engine: Engine) -> None:
    clock = FakeClock()
    with TestClient(staff_app(engine, clock, page_free_failures=10)) as client:
        assert sign_in(client).status_code == 303
        form = client.get("/chronology/second-factor/new")
        for _ in range(4):
            answer = client.post("/chronology/second-factor/new", data={"code": "123456",
                                                                        "csrf_token": token_of(form)})
            assert answer.status_code == 401
        last = client.post("/chronology/second-factor/new", data={"code": "123456", "csrf_token": token_of(form)},
                           follow_redirects=False)
        assert last.headers["location"] == "/chronology/sign-in?done=start-again"
        assert client.get("/chronology/", follow_redirects=False).headers["location"] == "/chronology/sign-in"
