"""Who may make a privacy request and what the route refuses before anything is asked (in process: memory
publisher, a real SQLite database, a clock the test moves):

- the `privacy` role alone (the data protection officer's): admin, intake, decide and read keys are 403;
- a request that matches nobody is audited (who asked, when, the kind, that nobody matched: never how the
  person was named), and a key's unmatched requests beyond 10 a minute are 429 with Retry-After, nothing
  looked up, until the oldest is a minute old;
- a reply key that is not a usable X25519 public key (a low-order point, whose exchange gives all zeros, or
  the wrong length) is 422 naming `reply_key`: every service would dead-letter the request otherwise;
- a rectify while an erasure of the person waits is 409 (problem+json, naming no value)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from contacts_testkit import nhs_number
from fastapi.testclient import TestClient
from privacy_testkit import known_child
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts.access import keyring
from contacts.app import create_app
from contacts.models import AuditEntry, OutboxEvent
from contacts.settings import Settings
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_platform.database import for_writing
from frontdoor_platform.testing import MemoryPublisher

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PATH = "/v1/privacy/requests"
ROLES = ("privacy", "admin", "intake", "decide", "read")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        made = {role: keyring().create(session, f"key-{role}", {role}, START, sources={"*"} if role == "intake" else ())
                for role in ROLES}
        made["dpo-2"] = keyring().create(session, "key-dpo-2", {"privacy"}, START)
        return made


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(settings: Settings, keys: dict[str, str], clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=clock)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def asked(engine: Engine) -> list[bytes]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent.payload)
                                 .where(col(OutboxEvent.topic) == "privacy.requests.v1")).all())


def unmatched(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.action) == "privacy.unmatched")
                                 .order_by(col(AuditEntry.id))).all())


@pytest.mark.parametrize("role", [*ROLES, None])
def test_only_the_privacy_role_may_make_a_privacy_request(api: TestClient, keys: dict[str, str], engine: Engine,
                                                          role: str | None) -> None:
    child = known_child(engine, 61).child
    answer = api.post(PATH, json={"kind": "access", "reply_key": new_reply_keys()[1], "nhs_number": child.nhs_number},
                      headers=bearer(keys[role]) if role else {})
    assert answer.status_code == {"privacy": 202, None: 401}.get(role, 403), (role, answer.text)
    assert len(asked(engine)) == (1 if role == "privacy" else 0)


def test_a_request_matching_nobody_is_audited_without_how_the_person_was_named(
        api: TestClient, keys: dict[str, str], engine: Engine, clock: Clock) -> None:
    unknown = nhs_number(424_242)
    answer = api.post(PATH, json={"kind": "erase", "reply_key": new_reply_keys()[1], "nhs_number": unknown},
                      headers=bearer(keys["privacy"]))
    assert answer.status_code == 404 and unknown not in answer.text
    [entry] = unmatched(engine)
    assert (entry.actor, entry.at, entry.target) == ("client:key-privacy", clock.now, "privacy-request:unmatched")
    assert entry.after == {"kind": "erase", "named_by": "nhs_number", "matched": 0}
    assert unknown not in json.dumps(entry.after) and asked(engine) == []


def test_unmatched_requests_beyond_ten_a_minute_are_429_until_the_oldest_is_a_minute_old(
        api: TestClient, keys: dict[str, str], engine: Engine, clock: Clock) -> None:
    child = known_child(engine, 62).child

    def post(token: str, nhs: str) -> int:
        body = {"kind": "access", "reply_key": new_reply_keys()[1], "nhs_number": nhs}
        answer = api.post(PATH, json=body, headers=bearer(token))
        assert nhs not in answer.text
        if answer.status_code == 429:
            assert answer.headers["content-type"] == "application/problem+json"
            retry_after.append(int(answer.headers["retry-after"]))
        return answer.status_code

    retry_after: list[int] = []
    for n in range(10):
        clock.now = START + timedelta(seconds=n)
        assert post(keys["privacy"], nhs_number(500_000 + n)) == 404
    clock.now = START + timedelta(seconds=30)
    assert post(keys["privacy"], nhs_number(500_100)) == 429
    assert post(keys["privacy"], child.nhs_number) == 429  # nothing is looked up, a match included
    assert retry_after == [30, 30] and len(unmatched(engine)) == 10 and asked(engine) == []
    assert post(keys["dpo-2"], nhs_number(500_200)) == 404  # another key has its own count
    clock.now = START + timedelta(seconds=60)
    assert post(keys["privacy"], child.nhs_number) == 202  # the first miss is a minute old
    assert post(keys["privacy"], nhs_number(500_300)) == 404
    assert post(keys["privacy"], nhs_number(500_400)) == 429 and retry_after[-1] == 1


LOW_ORDER = {  # X25519 points of small order: the exchange with any private key is all zeros
    "zero": bytes(32),
    "one": bytes([1]) + bytes(31),
    "order eight": bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
}
BAD_KEYS = {**{name: base64.b64encode(raw).decode() for name, raw in LOW_ORDER.items()},
            "31 bytes": base64.b64encode(bytes(range(1, 32))).decode(),  # 44 characters with "=="
            "33 bytes, cut": base64.b64encode(bytes(range(1, 34))).decode()[:44]}


@pytest.mark.parametrize("case", BAD_KEYS)
def test_a_reply_key_that_is_no_usable_x25519_key_is_422_naming_reply_key(
        api: TestClient, keys: dict[str, str], engine: Engine, case: str) -> None:
    child = known_child(engine, 63).child
    key = BAD_KEYS[case]
    assert len(key) == 44
    answer = api.post(PATH, json={"kind": "access", "reply_key": key, "nhs_number": child.nhs_number},
                      headers=bearer(keys["privacy"]))
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["reply_key"]
    assert key not in answer.text and child.nhs_number not in answer.text and asked(engine) == []


def test_a_rectify_while_an_erasure_of_the_person_waits_is_409(api: TestClient, keys: dict[str, str],
                                                              engine: Engine) -> None:
    child = known_child(engine, 64).child
    erase = api.post(PATH, json={"kind": "erase", "reply_key": new_reply_keys()[1], "nhs_number": child.nhs_number},
                     headers=bearer(keys["privacy"]))
    assert erase.status_code == 202
    rectify = api.post(PATH, json={"kind": "rectify", "reply_key": new_reply_keys()[1],
                                   "nhs_number": child.nhs_number, "corrections": {"family_name": "Writtenback"}},
                       headers=bearer(keys["privacy"]))
    assert rectify.status_code == 409 and rectify.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["reason"]) for e in rectify.json()["errors"]] == [("kind", "erasure_pending")]
    assert child.nhs_number not in rectify.text and "Writtenback" not in rectify.text and len(asked(engine)) == 1
