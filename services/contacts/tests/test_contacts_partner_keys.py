"""Partners bound to what they are, in process (memory publisher, a real
SQLite database): an intake key claims only the referrer sources it names
(every key kind against every source), a school's key only about its own
pupils, a decision's source is its key's whatever its body says, and keys
that make no sense are refused when they are made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from contacts_testkit import SEALING, child, contact_data
from fastapi.testclient import TestClient
from sqlmodel import Session

from contacts import handlers
from contacts.access import keyring
from contacts.app import create_app
from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_contracts.contacts import ContactSubmitted
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.vocabulary import ReferrerSource
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
URN, OTHER_URN = "100001", "100002"
# key kind -> (roles, sources, scope, the sources it may claim)
KINDS: dict[str, tuple[set[str], set[str], str | None, set[str]]] = {
    "police": ({"intake"}, {"police"}, None, {"police"}),
    "health": ({"intake"}, {"health", "gp", "health_visitor"}, None, {"health", "gp", "health_visitor"}),
    "school": ({"intake"}, {"school"}, URN, {"school"}),
    "front_door": ({"intake", "decide"}, {"*"}, None, {s.value for s in ReferrerSource}),
    "decide_only": ({"decide"}, set(), None, set()),
}
DECISION = {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "sw-1042"}


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        made = {kind: keyring().create(session, f"{kind}-1", roles, NOW, scope=scope, sources=sources)
                for kind, (roles, sources, scope, _) in KINDS.items()}
    engine.dispose()
    return made


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def api(settings: Settings, keys: dict[str, str], publisher: MemoryPublisher) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=publisher, clock=lambda: NOW)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def police_da(**child_fields: Any) -> dict[str, Any]:
    return contact_data(referrer_source="police", concerns=["domestic_abuse"], children=[child(**child_fields)],
                        da_incident={"occurred_at": "2026-03-02T02:00:00+00:00", "police_reference": "TVP/2026/0042",
                                     "children": [{"child_ref": "c1", "present": True}]})


def test_every_key_kind_against_every_referrer_source(api: TestClient, keys: dict[str, str],
                                                       publisher: MemoryPublisher) -> None:
    failures, allowed = [], 0
    for kind, (_, _, _, may_claim) in KINDS.items():
        for source in ReferrerSource:
            answer = api.post("/v1/contacts", json=contact_data(referrer_source=source.value),
                              headers=bearer(keys[kind]))
            expected = 202 if source.value in may_claim else 403
            allowed += expected == 202
            if answer.status_code != expected:
                failures.append(f"{kind} key claiming {source.value}: {answer.status_code}, expected {expected}")
            elif expected == 403 and kind != "decide_only":
                body = answer.json()
                assert answer.headers["content-type"] == "application/problem+json"
                assert [e["field"] for e in body["errors"]] == ["referrer_source"], body
                assert source.value not in answer.text  # the field, never the value
    assert failures == []
    assert allowed == 14 and len(publisher.on("frontdoor.contacts.v1")) == allowed  # of 45 cells: 31 refused


def test_a_school_or_health_key_cannot_post_a_police_da_incident(api: TestClient, keys: dict[str, str],
                                                                 publisher: MemoryPublisher) -> None:
    """The issue's reproduction: another partner's key posting a police DA incident naming any child and school."""
    for kind in ("school", "health"):
        answer = api.post("/v1/contacts", json=police_da(school_urn=OTHER_URN), headers=bearer(keys[kind]))
        assert answer.status_code == 403 and answer.json()["errors"][0]["field"] == "referrer_source"
    assert publisher.on("frontdoor.contacts.v1") == []  # nothing reached the broker: no school is alerted
    assert api.post("/v1/contacts", json=police_da(school_urn=OTHER_URN), headers=bearer(keys["police"])
                    ).status_code == 202


def test_a_school_key_submits_contacts_about_its_own_pupils(api: TestClient, keys: dict[str, str],
                                                            publisher: MemoryPublisher) -> None:
    school = bearer(keys["school"])
    elsewhere = contact_data(children=[child(ref="c1", school_urn=URN), child(ref="c2", school_urn=OTHER_URN)])
    refused = api.post("/v1/contacts", json=elsewhere, headers=school)
    assert refused.status_code == 403 and [e["field"] for e in refused.json()["errors"]] == ["children[1].school_urn"]
    assert OTHER_URN not in refused.text
    ours = contact_data(children=[child(ref="c1", school_urn=URN), child(ref="c2")])  # a sibling not at school
    assert api.post("/v1/contacts", json=ours, headers=school).status_code == 202
    [record] = publisher.on("frontdoor.contacts.v1")
    assert json.loads(record.value)["source"] == "urn:frontdoor:contacts:api:school-1"


def test_a_decisions_source_is_its_key_whatever_the_body_says(api: TestClient, keys: dict[str, str],
                                                              publisher: MemoryPublisher, settings: Settings) -> None:
    front_door = bearer(keys["front_door"])
    posted = api.post("/v1/contacts", json=contact_data(), headers=front_door)
    [record] = publisher.on("frontdoor.contacts.v1")
    engine = build_engine(settings.database_url)
    with Session(for_writing(engine)) as session:  # recorded, as the consumer would
        event = parse_event(record.value, ContactSubmitted)
        handlers.record_contact(session, event, handlers.channel_of(event, settings.api_source), settings.source_uri,
                                NOW, sealing=SEALING)
        session.commit()
    path = f"/v1/contacts/{posted.json()['contact_id']}/decision"
    for claimed in ({"recorded_by": "mash-east"}, {"source": "urn:frontdoor:contacts:api:mash-east"},
                    {"team": "mash-east"}):
        answer = api.post(path, json={**DECISION, **claimed}, headers=front_door)
        assert answer.status_code == 422 and [e["field"] for e in answer.json()["errors"]] == list(claimed)
    assert api.post(path, json=DECISION, headers=front_door).status_code == 202
    [decided] = publisher.on("frontdoor.decisions.v1")
    published = json.loads(decided.value)
    assert published["source"] == "urn:frontdoor:contacts:api:front_door-1"
    assert published["data"]["decided_by"] == "sw-1042"  # the person's staff reference, as the body gave it
    engine.dispose()


@pytest.mark.parametrize(("roles", "sources", "scope", "refusal"), [
    ({"intake"}, set(), None, "names the referrer sources"),
    ({"read"}, {"police"}, None, "for intake keys"),
    ({"intake"}, {"school"}, None, "names its school"),
    ({"intake"}, {"school"}, "SCHOOL-A", "names its school"),
    ({"intake"}, {"school", "health"}, URN, "claims school alone"),
    ({"intake", "read"}, {"school"}, URN, "intake role alone"),
    ({"intake"}, {"police"}, URN, "a school key's URN"),
    ({"intake"}, {"*", "police"}, None, "stands alone"),
    ({"intake"}, {"probation"}, None, "this service's sources"),
])
def test_keys_that_make_no_sense_are_refused_when_made(settings: Settings, roles: set[str], sources: set[str],
                                                       scope: str | None, refusal: str) -> None:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session, pytest.raises(ValueError, match=refusal):
        keyring().create(session, f"bad-{uuid.uuid4().hex[:8]}", roles, NOW, scope=scope, sources=sources)
    engine.dispose()


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTACTS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run([sys.executable, "-m", "contacts.main", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_create_client_takes_the_sources_and_a_schools_urn(tmp_path: Path) -> None:
    police = cli(tmp_path, "create-client", "--name", "tvp-niche", "--roles", "intake", "--sources", "police")
    assert police.returncode == 0 and police.stdout.startswith("fdk_")
    school = cli(tmp_path, "create-client", "--name", "school-100001", "--roles", "intake", "--sources", "school",
                 "--scope", URN)
    assert school.returncode == 0
    listed = cli(tmp_path, "list-clients").stdout
    assert "tvp-niche\tintake\t-\tactive" in listed and "sources police" in listed
    assert f"school-100001\tintake\t{URN}\tactive" in listed and "sources school" in listed
    bare = cli(tmp_path, "create-client", "--name", "anyone", "--roles", "intake")
    assert bare.returncode == 2 and "--sources" in bare.stderr
    unknown = cli(tmp_path, "create-client", "--name", "anyone", "--roles", "intake", "--sources", "probation")
    assert unknown.returncode == 2 and "sources must be all" in unknown.stderr
