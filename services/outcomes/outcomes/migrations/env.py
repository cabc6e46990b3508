"""Alembic environment: runs on the connection the caller hands over."""

from frontdoor_platform.database import run_migrations
from outcomes.models import OutcomesTable

run_migrations(OutcomesTable.metadata)
