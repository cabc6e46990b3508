"""API keys: hashed at rest, scoped, and refused at once when revoked or expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest
from kit_tables import KitClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.apikeys import KeyRing

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Role(StrEnum):
    READ = "read"
    WRITE = "write"


def ring() -> KeyRing:
    return KeyRing(KitClient, Role, token_prefix="fdt_")


def test_a_key_is_stored_only_as_its_hash_and_carries_roles_and_scope(engine: Engine) -> None:
    with Session(engine) as session:
        token = ring().create(session, "agency-7", {"read", "write"}, NOW, scope="vs-7")
        stored = session.exec(select(KitClient)).one()
        assert token not in stored.key_hash and token.startswith("fdt_")
        who = ring().authenticate(session, token, NOW)
    assert who is not None and who.roles == {"read", "write"} and who.scope == "vs-7"


def test_revoked_and_expired_keys_are_refused_at_once(engine: Engine) -> None:
    with Session(engine) as session:
        revoked = ring().create(session, "old-system", {"read"}, NOW)
        expiring = ring().create(session, "temp", {"read"}, NOW, expires_at=NOW + timedelta(days=1))
        assert ring().revoke(session, "old-system", NOW) and not ring().revoke(session, "old-system", NOW)
        assert ring().authenticate(session, revoked, NOW) is None
        assert ring().authenticate(session, expiring, NOW) is not None
        assert ring().authenticate(session, expiring, NOW + timedelta(days=1)) is None
        assert ring().authenticate(session, "fdt_not-a-key", NOW) is None
        statuses = {c.name: c.status(NOW + timedelta(days=2)) for c in ring().list(session)}
    assert statuses == {"old-system": "revoked", "temp": "expired"}


def test_roles_and_names_are_checked(engine: Engine) -> None:
    with pytest.raises(ValueError, match="subset"):
        ring().parse_roles("read,admin")
    with Session(engine) as session, pytest.raises(ValueError, match="identifier"):
        ring().create(session, "Jane Smith", {"read"}, NOW)
