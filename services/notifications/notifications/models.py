"""The notifications service's own tables (SQLModel). Only this service reads them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from frontdoor_platform.apikeys import ApiClientFields
from frontdoor_platform.database import utc_column
from frontdoor_platform.outbox import OutboxFields


class NotificationsTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata (each service owns its database)."""


class OutboxEvent(OutboxFields, NotificationsTable, table=True):
    __tablename__ = "outbox"


class ApiClient(ApiClientFields, NotificationsTable, table=True):
    __tablename__ = "api_clients"


class EnrolmentRow(NotificationsTable, table=True):
    """Which pupil is on which school's roll (schools.enrolments.v1): how a
    child with a UPN but no URN on the incident finds its school."""

    __tablename__ = "enrolments"

    upn: str = Field(primary_key=True, max_length=13)
    school_urn: str = Field(primary_key=True, max_length=6)
    starts_on: date = Field(primary_key=True)
    ends_on: date | None = None
    event_id: uuid.UUID
    recorded_at: datetime = Field(sa_column=utc_column())
