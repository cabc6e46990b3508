"""Alembic environment: runs on the connection the caller hands over."""

from __future__ import annotations

from alembic import context

from contacts.models import ContactsTable

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through contacts.database.migrate(engine)")
context.configure(
    connection=connection,
    target_metadata=ContactsTable.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
