"""`POST /v1/privacy/requests` in process (memory publisher, a real SQLite database): the admin's request
about one person is 202 with its id, how many people it is about and who will answer, put in the outbox
(ids only in clear) with its audit entry; 404 when nobody matches; 422 for a body that breaks a rule; 409
for a correction that takes another person's identifier; 401/403 without the admin role. No answer echoes
a name, a date or an identifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from contacts_testkit import nhs_number, upn
from fastapi.testclient import TestClient
from privacy_testkit import Child, ask, by_nhs, known_child
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts.access import keyring
from contacts.app import create_app
from contacts.models import AuditEntry, OutboxEvent
from contacts.settings import Settings
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_platform.database import for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PATH = "/v1/privacy/requests"
REPLY_KEY = new_reply_keys()[1]
SERVICES = ["contacts", "allocation", "notifications", "outcomes"]


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {"admin": keyring().create(session, "dpo", {"privacy"}, NOW),
                "read": keyring().create(session, "case-system", {"read"}, NOW),
                "intake": keyring().create(session, "front-door", {"intake", "decide"}, NOW, sources={"*"})}


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def requests_in(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == "privacy.requests.v1")).all())


def values_of(child: Child) -> list[str]:
    return [child.given_name, child.family_name, child.date_of_birth, child.nhs_number, child.upn, child.postcode]


def test_a_request_by_nhs_number_upn_or_name_is_202_and_in_the_outbox_with_its_audit_entry(
        api: TestClient, keys: dict[str, str], engine: Engine) -> None:
    child = known_child(engine, 21).child
    ways: list[dict[str, Any]] = [
        {"nhs_number": child.nhs_number}, {"upn": child.upn},
        {"given_name": child.given_name.upper(), "family_name": child.family_name, "date_of_birth": child.date_of_birth,
         "postcode": child.postcode.lower()}]
    ids = []
    for way in ways:
        answer = api.post(PATH, json={"kind": "access", "reply_key": REPLY_KEY, **way}, headers=bearer(keys["admin"]))
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert (body["kind"], body["people"], body["services"], body.get("erasure_refused")) == (
            "access", 1, SERVICES, None)
        ids.append(body["request_id"])
    rows = requests_in(engine)
    assert [r.key for r in rows] == ids
    for row in rows:
        for value in values_of(child):
            assert value.encode() not in row.payload
    with Session(engine) as session:
        audited = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "privacy.requested")).all()
    assert [(a.actor, a.target) for a in audited] == [("client:dpo", f"privacy-request:{i}") for i in ids]
    assert all(v not in json.dumps(a.after) for a in audited for v in values_of(child))


def test_an_erasure_naming_a_child_with_a_statutory_referral_is_accepted_and_refused_with_the_reason(
        api: TestClient, keys: dict[str, str], engine: Engine) -> None:
    child = known_child(engine, 22, decision="social_care_assessment").child
    answer = api.post(PATH, json={"kind": "erase", "reply_key": REPLY_KEY, "upn": child.upn},
                      headers=bearer(keys["admin"]))
    assert answer.status_code == 202 and "safeguarding referral" in answer.json()["erasure_refused"]


def test_nobody_matching_is_404_without_a_word_of_what_was_sent(api: TestClient, keys: dict[str, str],
                                                                engine: Engine) -> None:
    known_child(engine, 23)
    unknown = nhs_number(123_456)
    answer = api.post(PATH, json={"kind": "access", "reply_key": REPLY_KEY, "nhs_number": unknown},
                      headers=bearer(keys["admin"]))
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
    assert unknown not in answer.text and requests_in(engine) == []


BAD_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "no person": ({}, ""),
    "two ways": ({"nhs_number": nhs_number(77), "upn": upn(77)}, ""),
    "part of a name": ({"given_name": "Secretname", "family_name": "Secretfamily"}, "date_of_birth"),
    "a bad NHS number": ({"nhs_number": "1234567890"}, "nhs_number"),
    "a postcode that is not one": ({"given_name": "Secretname", "family_name": "Secretfamily",
                                    "date_of_birth": "2015-01-02", "postcode": "SECRET1"}, "postcode"),
    "no reply key": ({"nhs_number": nhs_number(77), "reply_key": None}, "reply_key"),
    "a reply key that is not one": ({"nhs_number": nhs_number(77), "reply_key": "Secret" * 8}, "reply_key"),
    "corrections on an access": ({"nhs_number": nhs_number(77), "corrections": {"family_name": "Secretfamily"}},
                                 "corrections"),
    "a field it does not know": ({"nhs_number": nhs_number(77), "address": "1 Secret Street"}, "address"),
    "an unknown kind": ({"nhs_number": nhs_number(77), "kind": "forget"}, "kind"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_a_bad_body_is_422_naming_the_field_never_the_value(api: TestClient, keys: dict[str, str], engine: Engine,
                                                            case: str) -> None:
    fields, field = BAD_BODIES[case]
    body = {k: v for k, v in {"kind": "access", "reply_key": REPLY_KEY, **fields}.items() if v is not None}
    answer = api.post(PATH, json=body, headers=bearer(keys["admin"]))
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.json()["errors"]], answer.text
    for value in ("Secret", nhs_number(77), upn(77), "2015-01-02", "1234567890"):
        assert value not in answer.text, (case, value)
    assert requests_in(engine) == []


def test_a_rectify_needs_corrections_and_may_not_take_another_persons_identifier(
        api: TestClient, keys: dict[str, str], engine: Engine) -> None:
    her, him = known_child(engine, 24).child, known_child(engine, 25).child
    nothing = api.post(PATH, json={"kind": "rectify", "reply_key": REPLY_KEY, "nhs_number": her.nhs_number},
                       headers=bearer(keys["admin"]))
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "corrections"
    taken = api.post(PATH, json={"kind": "rectify", "reply_key": REPLY_KEY, "nhs_number": her.nhs_number,
                                 "corrections": {"upn": him.upn}}, headers=bearer(keys["admin"]))
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "corrections.upn"
    assert him.upn not in taken.text and her.nhs_number not in taken.text
    fixed = api.post(PATH, json={"kind": "rectify", "reply_key": REPLY_KEY, "nhs_number": her.nhs_number,
                                 "corrections": {"family_name": "Corrected"}}, headers=bearer(keys["admin"]))
    assert fixed.status_code == 202 and len(requests_in(engine)) == 1


@pytest.mark.parametrize("who", ["read", "intake", None])
def test_only_the_admin_role_may_ask(api: TestClient, keys: dict[str, str], engine: Engine, who: str | None) -> None:
    child = known_child(engine, 26).child
    answer = api.post(PATH, json={"kind": "access", "reply_key": REPLY_KEY, "nhs_number": child.nhs_number},
                      headers=bearer(keys[who]) if who else {})
    assert answer.status_code == (403 if who else 401) and requests_in(engine) == []


def test_a_contact_read_after_an_erasure_shows_the_ids_and_no_details(api: TestClient, keys: dict[str, str],
                                                                      engine: Engine) -> None:
    known = known_child(engine, 27)
    ask(engine, by_nhs("erase", known.child))
    with Session(for_writing(engine)) as session:
        reader = keyring().create(session, "after-erasure", {"read"}, NOW)
    answer = api.get(f"/v1/contacts/{known.contact_id}", headers=bearer(reader))
    assert answer.status_code == 200
    view = answer.json()
    [child] = view["children"]
    assert (child["given_name"], child["family_name"], child["date_of_birth"], child["erased"]) == ("", "", None, True)
    assert view["adults"][0]["erased"] is False
    assert view["da_incident"]["police_reference"] is None and view["da_incident"]["occurred_at"]
    assert view["decision"]["decision"] == "early_help" and view["decision"]["rationale"] == ""
    for value in values_of(known.child):
        assert value not in answer.text
