"""The base of the notifications service's tables: their own metadata (each service owns its database)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class NotificationsTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata (each service owns its database)."""
