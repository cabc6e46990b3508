"""Checks of a service's audit trail, shared by every service's tests: the
operations that change something (every non-GET operation of the OpenAPI
document, so a route added later is walked too), what one call wrote to
the audit table and to the outbox's `<service>.audit.v1`, and that none of
it holds a secret, a password, a password hash or an API key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.errors import parse_event
from frontdoor_platform.audit import AuditFields
from frontdoor_platform.outbox import OutboxFields

CHANGING = {"post", "put", "patch", "delete"}
# What a secret looks like whatever its field is called: signing secrets, API keys, argon2 hashes.
SECRET_MARKS = ("whsec_", "fdk_", "fda_", "fdn_", "fdo_", "$argon2")


def changing_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path template) of every operation that may change something."""
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in CHANGING}


@dataclass(frozen=True)
class Written:
    rows: list[dict[str, Any]]
    events: list[dict[str, Any]]  # the CloudEvents, as JSON


def written(engine: Engine, table: type[AuditFields], outbox: type[OutboxFields], topic: str,
            after_row: int = 0, after_event: int = 0) -> Written:
    """The audit rows and audit events past the given ids (see `marks`)."""
    with Session(engine) as session:
        rows = session.exec(select(table).where(col(table.id) > after_row).order_by(col(table.id))).all()
        events = session.exec(select(outbox).where(col(outbox.id) > after_event, col(outbox.topic) == topic)
                              .order_by(col(outbox.id))).all()
        assert topic is not None and table.AUDIT_TOPIC.event is not None
        for event in events:  # each one the contract's event, as a consumer would parse it
            parse_event(event.payload, table.AUDIT_TOPIC.event)
        return Written([row.model_dump(mode="json") for row in rows], [json.loads(e.payload) for e in events])


def marks(engine: Engine, table: type[AuditFields], outbox: type[OutboxFields]) -> tuple[int, int]:
    """The last audit row's and outbox row's ids now."""
    with Session(engine) as session:
        row = session.exec(select(table.id).order_by(col(table.id).desc())).first()
        event = session.exec(select(outbox.id).order_by(col(outbox.id).desc())).first()
        return row or 0, event or 0


def secrets_in(found: Written, secrets: Iterable[str]) -> list[str]:
    """Which secrets (or secret-looking values) the rows or events hold: empty when none."""
    text = json.dumps([found.rows, found.events])
    leaks = [f"a secret given ({len(s)} characters)" for s in secrets if s and s in text]
    leaks += [f"something that looks like a secret ({mark}...)" for mark in SECRET_MARKS if mark in text]
    names = [key for key in _keys([found.rows, [e["data"] for e in found.events]])
             if any(word in key.lower() for word in ("secret", "password", "hash", "token", "api_key"))]
    return leaks + [f"a field named {name}" for name in names]


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value] + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def one_change(found: Written, actor: str, action: str, target: str) -> list[str]:
    """What is wrong with `found` as the trail of exactly one change (empty: nothing)."""
    problems = []
    if len(found.rows) != 1 or len(found.events) != 1:
        return [f"{len(found.rows)} audit rows and {len(found.events)} audit events, not one each"]
    row, event = found.rows[0], found.events[0]
    if (row["actor"], row["action"], row["target"]) != (actor, action, target):
        problems.append(f"row says {row['actor']} {row['action']} {row['target']}, not {actor} {action} {target}")
    data = event["data"]
    if (event["id"], data["audit_id"], data["actor"], data["action"], data["target"], data["before"],
            data["after"]) != (row["audit_id"], row["audit_id"], row["actor"], row["action"], row["target"],
                               row["before"], row["after"]):
        problems.append("the event does not say what the row says")
    return problems
