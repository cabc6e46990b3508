"""Alembic environment: runs on the connection the caller hands over."""

from frontdoor_platform.database import run_migrations
from notifications.models import NotificationsTable

run_migrations(NotificationsTable.metadata)
