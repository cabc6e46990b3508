"""Alembic environment: runs on the connection the caller hands over."""

from allocation.models import AllocationTable
from frontdoor_platform.database import run_migrations

run_migrations(AllocationTable.metadata)
