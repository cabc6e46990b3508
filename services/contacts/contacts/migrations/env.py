"""Alembic environment: runs on the connection the caller hands over."""

from contacts.models import ContactsTable
from frontdoor_platform.database import run_migrations

run_migrations(ContactsTable.metadata)
