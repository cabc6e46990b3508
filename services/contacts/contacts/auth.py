"""API clients: bearer keys, stored only as SHA-256 hashes, with roles.

Keys are 256-bit random tokens, so a plain hash is enough at rest (no
password stretching needed): a leaked table does not give the keys."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from . import store
from .models import ApiClient

TOKEN_PREFIX = "fdk_"


class Role(StrEnum):
    INTAKE = "intake"  # submit contacts
    DECIDE = "decide"  # record MASH decisions
    READ = "read"  # read contacts and children's histories


@dataclass(frozen=True)
class Caller:
    client_id: uuid.UUID
    name: str
    roles: frozenset[Role]


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_roles(text: str) -> frozenset[Role]:
    roles = {part.strip() for part in text.split(",") if part.strip()}
    unknown = roles - {r.value for r in Role}
    if unknown or not roles:
        raise ValueError(f"roles must be a comma-separated subset of {', '.join(r.value for r in Role)}")
    return frozenset(Role(r) for r in roles)


def create_client(session: Session, name: str, roles: Iterable[Role], now: datetime) -> str:
    """Create an API client; return its key, which is shown only this once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiClient(id=uuid.uuid4(), name=name, key_hash=hash_key(token),
                          roles=",".join(sorted(r.value for r in roles)), created_at=now))
    session.commit()
    return token


def authenticate(session: Session, token: str) -> Caller | None:
    client = store.client_by_key_hash(session, hash_key(token))
    if client is None or client.disabled:
        return None
    return Caller(client.id, client.name, parse_roles(client.roles))
