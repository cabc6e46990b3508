"""The DA incidents' children as this service knows them: what became of each
(`da_children`), those waiting for their data key (`da_children_waiting`),
and the people's data keys (`person_keys`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field

from frontdoor_platform.database import utc_column

from .base import NotificationsTable


class DAChildRow(NotificationsTable, table=True):
    """What became of each child of each incident (once, however often the
    event is redelivered): notified, school unknown, or not of school age."""

    __tablename__ = "da_children"

    contact_id: uuid.UUID = Field(primary_key=True)
    child_id: uuid.UUID = Field(primary_key=True)
    resolution: str = Field(max_length=24, index=True)
    school_urn: str | None = Field(default=None, max_length=6)
    notification_id: uuid.UUID | None = None
    recorded_at: datetime = Field(sa_column=utc_column())


class PersonKeyRow(NotificationsTable, table=True):
    """A person's data key as `contacts.person-keys.v1` gave it: wrapped with this service's wrapping key, never
    stored open (keys.py unwraps it when a sealed field is opened). A key record this service cannot unwrap
    leaves the row with no key, `unreadable` saying why (and the wrapping key id it named): nothing of the
    wrapped key is kept. A tombstone leaves the row with no key and `erased_at` set: the person was erased,
    so an incident about them read later is not waited on."""

    __tablename__ = "person_keys"

    person_id: uuid.UUID = Field(primary_key=True)
    service_key_id: str | None = Field(default=None, max_length=32)
    nonce: str | None = Field(default=None, max_length=16)
    ciphertext: str | None = Field(default=None, max_length=200)
    issued_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    recorded_at: datetime = Field(sa_column=utc_column())
    erased_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    unreadable: str | None = Field(default=None, max_length=30)  # no_key_for_service | unknown_key_id | ...


class WaitingChildRow(NotificationsTable, table=True):
    """A child of a DA incident whose data key has not come yet (the key and the incident are on different
    topics): the incident as read (its sealed fields and all, re-encoded) and where it was read, until the key
    opens it (waiting.py: then routed as any child, and deleted), or the person is erased."""

    __tablename__ = "da_children_waiting"

    contact_id: uuid.UUID = Field(primary_key=True)
    child_id: uuid.UUID = Field(primary_key=True)
    person_id: uuid.UUID = Field(index=True)  # whose key opens it (the sealed value's key_id)
    incident: str = Field(sa_column=Column(Text, nullable=False))
    topic: str = Field(max_length=249)
    partition: int
    record_offset: int = Field(sa_column=Column(BigInteger, nullable=False))  # Kafka offsets are 64-bit
    received_at: datetime = Field(sa_column=utc_column(index=True))
    escalated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))  # key_missing
