"""The columns of a service's staff tables (SQLModel mixins, like the
outbox's `OutboxFields`): each service declares its own three tables on its
own base class and writes its own migration.

- `StaffAccountFields`: a staff account (argon2id hash, the second factor
  sealed once enrolled) with its roles (comma-separated names of the
  service's own roles) and its scope (allocation and outcomes: the agency).
  `StaffAccountBase` is the same without roles and scope, for a service
  whose accounts carry them in columns of their own (notifications' key
  adults: the school URN); it then overrides `staff_roles`, `staff_scope`
  and `for_staff`.
- `StaffSessionFields`: a session; only the token's SHA-256 is kept.
- `StaffLinkFields`: a one-time set-password link; only its SHA-256 is kept.

`account_id` is new each time a staff id is added: sessions and links name
it, so an account removed and added back starts with none."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ..database import UTCDateTime

ROLE_SEPARATOR = ","


class StaffAccountBase(SQLModel):
    staff_id: str = Field(primary_key=True, max_length=64)
    account_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    password_hash: str | None = Field(default=None, max_length=200)
    failed_attempts: int = 0  # wrong passwords since the last sign-in or new password (no lockout: throttle.py)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    totp_secret: str | None = Field(default=None, max_length=200)  # sealed
    totp_key_id: str | None = Field(default=None, max_length=32)
    totp_last_step: int | None = None  # the 30-second step of the last code accepted: no code is taken twice
    totp_enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)

    def staff_roles(self) -> frozenset[str]:
        """The account's roles (the service's own role names)."""
        return frozenset()

    def staff_scope(self) -> str | None:
        """What the account is bound to (an agency, a school URN), or None."""
        return None

    @classmethod
    def for_staff(cls, staff_id: str, roles: frozenset[str], scope: str | None, now: datetime,
                  **extra: Any) -> StaffAccountBase:
        """A new account row (no password yet)."""
        return cls(staff_id=staff_id, updated_at=now, **extra)


class StaffAccountFields(StaffAccountBase):
    roles: str = Field(default="", max_length=200)  # comma-separated role names
    scope: str | None = Field(default=None, max_length=80, index=True)

    def staff_roles(self) -> frozenset[str]:
        return frozenset(role for role in self.roles.split(ROLE_SEPARATOR) if role)

    def staff_scope(self) -> str | None:
        return self.scope

    @classmethod
    def for_staff(cls, staff_id: str, roles: frozenset[str], scope: str | None, now: datetime,
                  **extra: Any) -> StaffAccountBase:
        return cls(staff_id=staff_id, roles=ROLE_SEPARATOR.join(sorted(roles)), scope=scope, updated_at=now,
                   **extra)


class StaffSessionFields(SQLModel):
    """`stage` is signed_in, or a sign-in half done (the password was right;
    a TOTP code, or enrolling one, is next); it ends at `expires_at`
    (absolute) or after the idle timeout since `last_seen_at`. A TOTP secret
    being enrolled waits here, sealed, until a first code confirms it."""

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(max_length=64, index=True)
    account_id: uuid.UUID
    stage: str = Field(max_length=16)  # signed_in | code | enrol
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    code_failures: int = 0
    enrol_secret: str | None = Field(default=None, max_length=200)  # sealed
    enrol_key_id: str | None = Field(default=None, max_length=32)


class StaffLinkFields(SQLModel):
    """A one-time set-password link (or code): gone once used, useless once expired."""

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(max_length=64, index=True)
    account_id: uuid.UUID
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


@dataclass(frozen=True)
class StaffTables:
    """One service's three staff tables (its own rows, on its own base class)."""

    accounts: type[StaffAccountBase]
    sessions: type[StaffSessionFields]
    links: type[StaffLinkFields]
