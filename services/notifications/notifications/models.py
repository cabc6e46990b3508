"""The notifications service's own tables (SQLModel). Only this service reads them."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from frontdoor_platform.apikeys import ApiClientFields
from frontdoor_platform.outbox import OutboxFields


class NotificationsTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata (each service owns its database)."""


class OutboxEvent(OutboxFields, NotificationsTable, table=True):
    __tablename__ = "outbox"


class ApiClient(ApiClientFields, NotificationsTable, table=True):
    __tablename__ = "api_clients"
