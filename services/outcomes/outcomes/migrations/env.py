"""Alembic environment: runs on the connection the caller hands over, against every table of the service."""

from frontdoor_platform.database import run_migrations
from outcomes.migrations import METADATA

run_migrations(METADATA)
