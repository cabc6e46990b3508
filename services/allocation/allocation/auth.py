"""API clients of the allocation service: bearer keys hashed at rest, roles
coordinator (allocate, and everything an agency may), agency (record offers,
answers and step-ups, and read) and read (agenda, board, timelines)."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, select

from .models import ApiClient

TOKEN_PREFIX = "fda_"
CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")  # a staff or system id, never a person's name


class Role(StrEnum):
    COORDINATOR = "coordinator"
    AGENCY = "agency"
    READ = "read"


@dataclass(frozen=True)
class Caller:
    client_id: uuid.UUID
    name: str
    roles: frozenset[Role]

    def may(self, role: Role) -> bool:
        if role in self.roles or Role.COORDINATOR in self.roles:
            return True
        return role is Role.READ and Role.AGENCY in self.roles


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_roles(text: str) -> frozenset[Role]:
    names = {part.strip() for part in text.split(",") if part.strip()}
    if not names or names - {r.value for r in Role}:
        raise ValueError(f"roles must be a comma-separated subset of {', '.join(r.value for r in Role)}")
    return frozenset(Role(name) for name in names)


def create_client(session: Session, name: str, roles: frozenset[Role], now: datetime) -> str:
    if not CLIENT_NAME.match(name):
        raise ValueError("name must be a staff or system identifier: letters, digits and ._:/- only")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiClient(id=uuid.uuid4(), name=name, key_hash=hash_key(token),
                          roles=",".join(sorted(r.value for r in roles)), created_at=now))
    session.commit()
    return token


def authenticate(session: Session, token: str) -> Caller | None:
    client = session.exec(select(ApiClient).where(ApiClient.key_hash == hash_key(token))).first()
    return None if client is None else Caller(client.id, client.name, parse_roles(client.roles))
