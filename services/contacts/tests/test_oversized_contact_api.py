"""Issue 14's reproduction at the contacts API, in process: the 133 KB contact
that once made a 1.43 MB DA event (one child with long names, named 4,000
times in its DA incident) is refused 422 naming da_incident.children, with
no name or value echoed and nothing published; and the largest contact the
contracts accept is taken, its record under the record limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from fastapi.testclient import TestClient
from sqlmodel import Session

from contacts.access import keyring
from contacts.app import create_app
from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_contracts import largest
from frontdoor_contracts.limits import MAX_BODY_BYTES, MAX_RECORD_BYTES
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
GIVEN, FAMILY, REF = "Jemimaelizabeth" * 6 + "Anne", "Puddleduckworth" * 6 + "Wood", "farmyard-child-7731"


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def client(tmp_path: Path, publisher: MemoryPublisher) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'contacts.db'}", run_consumer=False)
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        token = keyring().create(session, "test-intake", {"intake"}, NOW, sources={"*"})
    engine.dispose()
    with TestClient(create_app(settings, publisher=publisher, clock=lambda: NOW)) as api:
        yield api, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def reproduction() -> dict[str, Any]:
    child = {"ref": REF, "given_name": GIVEN, "family_name": FAMILY, "date_of_birth": "2016-04-01",
             "nhs_number": "9434765919", "postcode": "RG1 1AA"}
    return {"referrer_source": "police", "received_at": "2026-03-02T09:15:00+00:00", "children": [child],
            "concerns": ["domestic_abuse"],
            "da_incident": {"occurred_at": "2026-03-01T23:15:00+00:00", "police_reference": "TVP/2026/000133",
                            "children": [{"child_ref": REF, "present": True}] * 4000}}


def test_the_133_kb_contact_is_refused_naming_the_da_children(client: tuple[TestClient, dict[str, str]],
                                                              publisher: MemoryPublisher) -> None:
    api, headers = client
    body = json.dumps(reproduction()).encode()
    assert 130_000 < len(body) < MAX_BODY_BYTES  # past the edge's size check: the contract refuses it
    response = api.post("/v1/contacts", content=body, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [(e["field"], e["reason"]) for e in problem["errors"]] == [("da_incident.children", "too_long")]
    for echoed in (GIVEN, FAMILY, REF, "9434765919", "TVP/2026/000133", "Jemima", "Puddleduck"):
        assert echoed not in response.text
    assert publisher.records == []


def test_the_same_child_named_twice_in_the_incident_is_refused(client: tuple[TestClient, dict[str, str]]) -> None:
    api, headers = client
    document = reproduction()
    document["da_incident"]["children"] = [{"child_ref": REF, "present": True}, {"child_ref": REF, "present": False}]
    response = api.post("/v1/contacts", content=json.dumps(document), headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["da_incident.children"]
    assert REF not in response.text and "Jemima" not in response.text


@pytest.mark.parametrize("indent", [None, 4])
def test_the_largest_contact_is_taken_and_its_record_fits(client: tuple[TestClient, dict[str, str]],
                                                          publisher: MemoryPublisher, indent: int | None) -> None:
    api, headers = client
    body = json.dumps(largest.largest_contact().model_dump(mode="json"), indent=indent).encode()
    assert 200_000 < len(body) <= MAX_BODY_BYTES
    response = api.post("/v1/contacts", content=body, headers=headers)
    assert response.status_code == 202, response.text
    [record] = publisher.on("frontdoor.contacts.v1")
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(record.key.encode() if record.key else None,
                                                            record.value, list(record.headers))
    assert size <= MAX_RECORD_BYTES
