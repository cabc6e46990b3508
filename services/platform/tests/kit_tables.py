"""A tiny service's tables for the kit's own tests (unique module name)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from frontdoor_platform.apikeys import ApiClientFields
from frontdoor_platform.outbox import OutboxFields


class KitTable(SQLModel, registry=registry()):
    pass


class Note(KitTable, table=True):
    __tablename__ = "notes"
    event_id: str = Field(primary_key=True, max_length=200)
    text: str = Field(max_length=100)


class KitOutbox(OutboxFields, KitTable, table=True):
    __tablename__ = "outbox"


class KitClient(ApiClientFields, KitTable, table=True):
    __tablename__ = "api_clients"
