"""Empty a database the rebuild writes into (every table of the service: `migrations.METADATA`)."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from ..migrations import METADATA


def empty(engine: Engine) -> None:
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        for table in reversed(METADATA.sorted_tables):
            if table.name in existing:
                connection.execute(table.delete())
