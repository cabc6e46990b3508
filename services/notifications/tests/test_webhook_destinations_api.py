"""Webhook addresses that cannot be turned inward, when they are set (the
admin API in process, a real SQLite database): every forbidden kind of
destination is a 422 problem naming `webhook_url` and the rule, never the
value, for schools and agencies alike; a public https address is taken.
The development setting's part (this machine, plain http to it) is judged
with the settings by `directory.check_webhook_url`. The signing secrets
of a webhook are never logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from frontdoor_contracts.errors import InvalidEvent
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from notifications import directory
from notifications.access import keyring
from notifications.app import create_app
from notifications.migrations import migrate
from notifications.settings import Settings

NOW = datetime(2026, 11, 13, 23, 0, tzinfo=UTC)
URN = "100001"
FORBIDDEN = [
    "https://10.0.0.5/hook", "https://172.20.1.1/hook", "https://192.168.0.10/hook", "https://[fd00::5]/hook",
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/hook", "https://224.0.0.1/hook",
    "https://[ff05::1]/hook", "https://0.0.0.0/hook", "https://[::]/hook", "https://100.64.0.1/hook",
    "https://240.0.0.1/hook", "https://[::ffff:10.0.0.5]/hook", "https://[::ffff:169.254.169.254]/hook",
    "https://2130706433/hook", "https://127.1/hook", "https://admin:hunter2@school.example/hook",
    "http://school.example/hook", "http://93.184.215.14/hook", "gopher://school.example/hook",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", run_consumer=False)


@pytest.fixture
def admin(settings: Settings) -> dict[str, str]:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        key = keyring().create(session, "admin-1", {"admin"}, NOW)
    engine.dispose()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api(settings: Settings, admin: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def webhook(url: str, **more: Any) -> dict[str, Any]:
    return {"name": "Example Primary", "channel": "webhook", "webhook_url": url, **more}


def assert_refused_naming_the_field(answer: Any, url: str) -> None:
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == ["webhook_url"] and errors[0]["message"]
    host = url.split("://", 1)[1].split("/", 1)[0]
    assert url not in answer.text and host not in answer.text  # the rule, never the value


@pytest.mark.parametrize("url", FORBIDDEN)
def test_a_forbidden_destination_is_refused_when_a_school_is_set(api: TestClient, admin: dict[str, str],
                                                                  url: str) -> None:
    answer = api.put(f"/v1/schools/{URN}", json=webhook(url, phase="primary"), headers=admin)
    assert_refused_naming_the_field(answer, url)
    assert api.get(f"/v1/schools/{URN}", headers=admin).status_code == 404  # nothing stored


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/meta-data/", "https://[::ffff:192.168.1.1]/",
                                 "http://school.example/hook"])
def test_a_forbidden_destination_is_refused_when_an_agency_is_set(api: TestClient, admin: dict[str, str],
                                                                   url: str) -> None:
    assert_refused_naming_the_field(api.put("/v1/agencies/EH-NORTH", json=webhook(url), headers=admin), url)


def test_a_public_https_address_is_taken_and_a_forbidden_change_leaves_it(api: TestClient,
                                                                           admin: dict[str, str]) -> None:
    made = api.put(f"/v1/schools/{URN}", json=webhook("https://school.example/hook", phase="primary"),
                   headers=admin)
    assert made.status_code == 201 and made.json()["webhook_url"] == "https://school.example/hook"
    changed = api.put(f"/v1/schools/{URN}", json=webhook("https://10.0.0.5/hook", phase="primary"), headers=admin)
    assert changed.status_code == 422
    assert api.get(f"/v1/schools/{URN}", headers=admin).json()["webhook_url"] == "https://school.example/hook"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8090/webhooks/schools/100001", "https://127.0.0.1/hook",
                                 "https://localhost/hook", "http://[::1]:8090/hook",
                                 "https://[::ffff:127.0.0.1]/hook"])
def test_this_machine_is_refused_without_the_development_setting(url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidEvent) as refused:
        directory.check_webhook_url(url, local=False)
    assert [(e.field, e.reason) for e in refused.value.errors] == [("webhook_url", "destination_refused")]
    assert url not in str(refused.value)
    directory.check_webhook_url(url, local=True)  # the development setting: the local receiver
    engine = build_engine(f"sqlite:///{tmp_path / 'n.db'}")
    migrate(engine)
    with Session(engine) as session, pytest.raises(InvalidEvent):
        directory.put_recipient(session, URN, kind=directory.SCHOOL, name="Example Primary", phase="primary",
                                channel="webhook", webhook_url=url, alert_email=None, calendar=None, now=NOW,
                                local_webhooks=False)
    engine.dispose()


def test_a_signing_secret_is_never_logged(api: TestClient, admin: dict[str, str],
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert api.put(f"/v1/schools/{URN}", json=webhook("https://school.example/hook", phase="primary"),
                   headers=admin).status_code == 201
    secrets = [api.post(f"/v1/schools/{URN}/signing-secrets", headers=admin).json()["secret"] for _ in range(2)]
    assert all(s.startswith("whsec_") for s in secrets) and caplog.records  # the requests were logged...
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert not any(s in logged or s.removeprefix("whsec_") in logged for s in secrets)  # ...never a secret


@pytest.mark.parametrize("url", ["http://127.0.0.1:8090/webhooks/schools/100001", "https://localhost/hook"])
def test_the_api_refuses_this_machine_unless_the_service_runs_with_the_development_setting(
        url: str, api: TestClient, admin: dict[str, str], tmp_path: Path) -> None:
    assert_refused_naming_the_field(api.put(f"/v1/schools/{URN}", json=webhook(url, phase="primary"),
                                            headers=admin), url)
    assert_refused_naming_the_field(api.put("/v1/agencies/early-help-hub", json=webhook(url), headers=admin), url)
    local = Settings(database_url=f"sqlite:///{tmp_path / 'local.db'}", run_consumer=False, local_webhooks=True)
    engine = build_engine(local.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        key = keyring().create(session, "admin-local", {"admin"}, NOW)
    engine.dispose()
    with TestClient(create_app(local, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        taken = client.put(f"/v1/schools/{URN}", json=webhook(url, phase="primary"),
                           headers={"Authorization": f"Bearer {key}"})
        assert taken.status_code in (200, 201), taken.text
