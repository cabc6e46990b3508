"""The kit's audit trail: a row and its event written in the caller's
transaction (or neither), secrets left out by name and by form, a retry
recorded once, the table append-only; and keys that carry the sources
their holder may claim."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, select

from frontdoor_contracts.topics import OUTCOMES_AUDIT
from frontdoor_platform.apikeys import ANY_SOURCE, ApiClientFields, ApiClientSources, KeyRing
from frontdoor_platform.audit import (
    AuditFields,
    AuditTrail,
    Entry,
    GroupCommit,
    append_only_sql,
    trail_beside,
    without_secrets,
)
from frontdoor_platform.database import build_engine
from frontdoor_platform.outbox import OutboxFields

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Table(SQLModel, registry=registry()):
    pass


class Outbox(OutboxFields, Table, table=True):
    __tablename__ = "outbox"


class Client(ApiClientFields, ApiClientSources, Table, table=True):
    __tablename__ = "api_clients"


class Audit(AuditFields, Table, table=True):
    __tablename__ = "audit"
    AUDIT_TOPIC = OUTCOMES_AUDIT


class Role(StrEnum):
    INTAKE = "intake"


class Source(StrEnum):
    POLICE = "police"
    HEALTH = "health"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    Table.metadata.create_all(built)
    with built.begin() as connection:
        for statement in append_only_sql("sqlite", "audit"):
            connection.execute(text(statement))
    yield built
    built.dispose()


TRAIL = AuditTrail(Audit, Outbox, "urn:test")


def test_secrets_are_left_out_by_name_at_any_depth_and_by_form() -> None:
    entry = {"name": "Example Primary", "webhook_url": "https://school.example/hook", "signing_secret": "abc",
             "key_adults": [{"staff_id": "DSL-1", "email": "dsl@school.example", "password": "pw",
                             "password_hash": "h"}],
             "nested": {"api_key": "k", "csrf_token": "t", "key": "k", "Secrets": ["a"]},
             "note": "whsec_c2VjcmV0", "also": "fdn_abcdef", "hashed": "$argon2id$v=19$...", "when": NOW}
    assert without_secrets(entry) == {
        "name": "Example Primary", "webhook_url": "https://school.example/hook",
        "key_adults": [{"staff_id": "DSL-1", "email": "dsl@school.example"}], "nested": {},
        "note": "[removed]", "also": "[removed]", "hashed": "[removed]", "when": "2026-12-01T09:00:00Z"}


def test_the_row_and_its_event_commit_with_the_change_or_not_at_all(engine: Engine) -> None:
    with Session(engine) as session:
        assert TRAIL.record(session, "client:admin-1", "school.put", "school:100001", None,
                            {"name": "A", "secret": "s"}, NOW)
        session.rollback()  # the change failed: no trail of it
    with Session(engine) as session:
        assert session.exec(select(Audit)).all() == [] and session.exec(select(Outbox)).all() == []
        TRAIL.record(session, "client:admin-1", "school.put", "school:100001", {"name": "A"}, {"name": "B"}, NOW)
        session.commit()
        [row] = session.exec(select(Audit)).all()
        [event] = session.exec(select(Outbox)).all()
    published = json.loads(event.payload)
    assert (event.topic, event.key, published["id"]) == ("outcomes.audit.v1", "school:100001", str(row.audit_id))
    assert published["type"] == "uk.gov.frontdoor.outcomes.audit-recorded.v1" and published["source"] == "urn:test"
    assert published["data"]["before"] == row.before == {"name": "A"} and row.after == {"name": "B"}


def test_a_retry_with_the_same_audit_id_is_recorded_once(engine: Engine) -> None:
    same = uuid.uuid4()
    for _ in range(2):
        with Session(engine) as session:
            TRAIL.record(session, "client:x", "contact.submitted", "contact:1", None, None, NOW, audit_id=same)
            session.commit()
    with Session(engine) as session:
        assert len(session.exec(select(Audit)).all()) == len(session.exec(select(Outbox)).all()) == 1


async def test_concurrent_entries_share_one_commit_and_a_bad_one_fails_alone(engine: Engine) -> None:
    writer, commits = GroupCommit(engine, TRAIL), []
    write = writer._commit
    writer._commit = lambda entries: (commits.append(len(entries)), write(entries))[1]  # type: ignore[method-assign]
    good = [Entry("client:x", "contact.submitted", f"contact:{i}", None, None, NOW, uuid.uuid4()) for i in range(20)]
    assert await asyncio.gather(*(writer.record(e) for e in good)) == [None] * 20
    assert commits == [20]  # one transaction for the twenty
    bad = Entry("Jane Smith", "contact.submitted", "contact:x", None, None, NOW)  # not an actor: the event refuses it
    again = [Entry("client:x", "contact.submitted", f"contact:{i}", None, None, NOW, uuid.uuid4()) for i in range(3)]
    results = await asyncio.gather(*(writer.record(e) for e in [*again, bad]), return_exceptions=True)
    assert results[:3] == [None] * 3 and isinstance(results[3], ValueError)
    assert commits[1:] == [4, 1, 1, 1, 1]  # the shared write failed: each entry alone
    with Session(engine) as session:
        assert len(session.exec(select(Audit)).all()) == len(session.exec(select(Outbox)).all()) == 23


def test_the_table_is_append_only(engine: Engine) -> None:
    with Session(engine) as session:
        TRAIL.record(session, "client:x", "school.put", "school:100001", None, None, NOW)
        session.commit()
    for statement in ("UPDATE audit SET actor = 'client:someone-else'", "DELETE FROM audit"):
        with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
    with Session(engine) as session:
        assert session.exec(select(Audit.actor)).all() == ["client:x"]


def test_the_trail_is_found_beside_the_api_clients_table() -> None:
    trail = trail_beside(Client, "urn:t")
    assert trail is not None and (trail.table, trail.outbox, trail.source) == (Audit, Outbox, "urn:t")


def test_a_key_carries_the_sources_its_holder_may_claim(engine: Engine) -> None:
    def policy(roles: frozenset[str], sources: frozenset[str], scope: str | None) -> None:
        if not sources:
            raise ValueError("name the sources")

    ring = KeyRing(Client, Role, "fdt_", sources=Source, policy=policy)
    assert ring.parse_sources("all") == {ANY_SOURCE} and ring.parse_sources("police, health") == {"police", "health"}
    with pytest.raises(ValueError, match="subset"):
        ring.parse_sources("police,probation")
    with Session(engine) as session:
        police = ring.create(session, "tvp", {"intake"}, NOW, sources={"police"})
        anyone = ring.create(session, "front-door", {"intake"}, NOW, sources={ANY_SOURCE})
        with pytest.raises(ValueError, match="name the sources"):
            ring.create(session, "nobody", {"intake"}, NOW)
        who, every = ring.authenticate(session, police, NOW), ring.authenticate(session, anyone, NOW)
        assert [c.sources for c in ring.list(session)] == ["police", "*"]
    assert who is not None and who.may_claim("police") and not who.may_claim("health")
    assert every is not None and every.may_claim("health")
    with pytest.raises(TypeError):
        KeyRing(Audit, Role, "fdt_", sources=Source)  # type: ignore[arg-type]
