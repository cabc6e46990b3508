"""`GET /v1/reads?record=<kind>:<id>&after=&limit=` in every service (the
real app on a real SQLite file, an admin's key) against hostile query
strings (hypothesis): odd kinds, huge ids, NUL bytes, any unicode, raw bytes
that are not UTF-8, negative, huge and non-numeric `after` and `limit`. Each
is answered 200 (a well-formed record: its reads, here none) or a 422
problem+json naming the parameter and the rule, never echoing the value,
never a 500."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.reads_route import RECORD_PATTERN
from frontdoor_platform.testing import MemoryPublisher

SERVICES = ("contacts", "allocation", "notifications", "outcomes")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MARK = "QZXJ"  # put in every hostile text value: it must never come back
PARAMETERS = ("record", "after", "limit")
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)  # what a URL can carry as UTF-8
NUMBER = st.one_of(st.integers(), st.integers(min_value=2**62 - 2, max_value=2**200), st.integers(max_value=0))
RECORD = st.one_of(
    TEXT, st.from_regex(RECORD_PATTERN, fullmatch=True), st.from_regex(r"[a-z_]{0,80}:[^:]{0,3000}", fullmatch=True),
    st.builds(lambda k, i: f"{k}:{i}",
              st.sampled_from(["", "person", "PERSON", "per son", "person\x00", "ä", "a" * 41]),
              st.sampled_from(["", "x" * 120, "x" * 5000, "\x00", "1\x00", "ü", "../..", "%00", "a:b", "🙂"])))
RAW = st.binary(max_size=200).map(lambda raw: "".join(f"%{byte:02X}" for byte in raw))  # any bytes, escaped


@pytest.fixture(params=SERVICES)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    service = request.param
    config: Any = importlib.import_module(f"{service}.settings")
    app: Any = importlib.import_module(f"{service}.app")
    access: Any = importlib.import_module(f"{service}.access")
    migrations: Any = importlib.import_module(f"{service}.migrations")
    url = f"sqlite:///{tmp_path / f'{service}.db'}"
    engine = build_engine(url)
    migrations.migrate(engine)
    with Session(for_writing(engine)) as session:
        key = access.keyring().create(session, "dpo", {"admin"}, NOW)
    engine.dispose()
    options = {"database_url": url, "run_consumer": False, "kafka_bootstrap": "127.0.0.1:1",
               "publish_timeout_seconds": 1}
    with TestClient(app.create_app(config.Settings(**options), publisher=MemoryPublisher(), clock=lambda: NOW),
                    raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def well_formed(query: dict[str, str]) -> bool:
    record, after, limit = query.get("record"), query.get("after"), query.get("limit")
    return (record is not None and len(record) <= 160 and re.fullmatch(RECORD_PATTERN, record) is not None
            and (after is None or (after.isascii() and after.isdigit() and int(after) <= 2**62))
            and (limit is None or (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 500)))


def answered_safely(response: Any, sent: dict[str, str] | None) -> None:
    assert response.status_code in (200, 422), response.status_code
    if sent is not None:
        assert response.status_code == (200 if well_formed(sent) else 422), sent.keys()
    if response.status_code == 200:
        assert response.json()["reads"] == []
        return
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422 and problem["errors"]
    for error in problem["errors"]:
        assert error["field"].split(".")[-1] in PARAMETERS and error["reason"] and error["message"]
    assert MARK not in response.text and "\\u0000" not in response.text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_any_query_gets_its_reads_or_a_problem_naming_the_parameter(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(record=st.one_of(st.none(), RECORD, RECORD.map(lambda r: r + MARK), RECORD.map(lambda r: MARK + "\x00" + r)),
           after=st.one_of(st.none(), NUMBER.map(str), TEXT.map(lambda t: t + MARK)),
           limit=st.one_of(st.none(), NUMBER.map(str), TEXT.map(lambda t: MARK + t)))
    def check(record: str | None, after: str | None, limit: str | None) -> None:
        query = {name: value for name, value in (("record", record), ("after", after), ("limit", limit))
                 if value is not None}
        answered_safely(client.get("/v1/reads", params=query, headers=auth), query)

    check()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_raw_bytes_in_the_query_get_a_problem_not_a_500(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(record=RAW, after=RAW, limit=RAW, name=st.sampled_from(PARAMETERS))
    def check(record: str, after: str, limit: str, name: str) -> None:
        raw = {"record": f"person:{quote(MARK)}{record}", "after": f"{after}{MARK}", "limit": f"{MARK}{limit}"}
        kept = "&".join(f"{key}={value}" for key, value in raw.items() if key != name or key == "record")
        answered_safely(client.get(f"/v1/reads?{kept}", headers=auth), None)

    check()
