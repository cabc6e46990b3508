"""Empty a database the rebuild writes into (every table of this service's metadata)."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from ..models import OutcomesTable


def empty(engine: Engine) -> None:
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        for table in reversed(OutcomesTable.metadata.sorted_tables):
            if table.name in existing:
                connection.execute(table.delete())
