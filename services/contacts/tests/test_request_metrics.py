"""Every request is counted and timed by route template and logged as one
JSON line that names the route, never the path, the query or the body: a
contact posted, a contact read by id, a path no route has."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from contacts_testkit import child, contact_data
from fastapi.testclient import TestClient
from sqlmodel import Session

from contacts.access import keyring
from contacts.app import create_app
from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def api_and_key(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'contacts.db'}", run_consumer=False)
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        key = keyring().create(session, "metrics-test", {"intake", "read"}, NOW, sources={"*"})
    engine.dispose()
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client, key


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_requests_are_counted_timed_and_logged_by_route_template(api_and_key: tuple[TestClient, str],
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    api, key = api_and_key
    auth = {"Authorization": f"Bearer {key}"}
    unknown = uuid.uuid4()
    with caplog.at_level(logging.INFO, logger="frontdoor.access"):
        assert api.post("/v1/contacts", json=contact_data(children=[child(given_name="Zebedee")]),
                        headers=auth).status_code == 202
        assert api.get(f"/v1/contacts/{unknown}?name=Zebedee", headers=auth).status_code == 404
        assert api.get("/no/such/path").status_code == 404
    text = api.get("/metrics").text
    assert sample(text, "frontdoor_contacts_http_requests_total", route="/v1/contacts", method="POST",
                  status_class="2xx") == 1
    assert sample(text, "frontdoor_contacts_http_requests_total", route="/v1/contacts/{contact_id}",
                  method="GET", status_class="4xx") == 1
    assert sample(text, "frontdoor_contacts_http_requests_total", route="unmatched", status_class="4xx") == 1
    assert sample(text, "frontdoor_contacts_http_request_duration_seconds_count", route="/v1/contacts") == 1
    lines = [record for record in caplog.records if record.name == "frontdoor.access"]
    assert [(r.route, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("/v1/contacts", 202), ("/v1/contacts/{contact_id}", 404), ("unmatched", 404)]
    logged = json.dumps([vars(r) for r in lines], default=str)
    assert str(unknown) not in logged and "Zebedee" not in logged and "/no/such/path" not in logged
