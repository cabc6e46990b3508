"""A service's schema history: a new revision comes from the kit's one template, after the newest,
and migrating runs it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from frontdoor_platform.database import Schema, build_engine

ENV = '''from sqlalchemy import MetaData

from frontdoor_platform.database import run_migrations

run_migrations(MetaData())
'''


def _schema(tmp_path: Path) -> Schema:
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    return Schema(folder)


def test_new_revisions_follow_the_newest_and_migrate(tmp_path: Path) -> None:
    schema = _schema(tmp_path)
    first = schema.new_revision("Add the things table", today=datetime(2026, 12, 5, 9, 30))
    assert first.name == "0001_add_the_things_table.py"
    text = first.read_text()
    assert "revision: str = '0001'" in text and "down_revision: str | None = None" in text
    assert "Create Date: 2026-12-05 09:30:00" in text
    first.write_text(text.replace("def upgrade() -> None:\n    pass",
                                  "def upgrade() -> None:\n    op.create_table('things', sa.Column('id', sa.Integer, "
                                  "primary_key=True))"))
    second = schema.new_revision("and more!")
    assert second.name == "0002_and_more.py" and "down_revision: str | None = '0001'" in second.read_text()
    engine = build_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    schema.migrate(engine)
    assert "things" in inspect(engine).get_table_names()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_pods_migrating_one_fresh_postgresql_database_at_once_all_start(tmp_path: Path, database_url: str) -> None:
    """Several pods of a service starting together on a new database: one migrates, the others wait on the
    advisory lock and find the schema made (without it, all but one failed creating the same table)."""
    import threading

    schema = _schema(tmp_path)
    first = schema.new_revision("things")
    first.write_text(first.read_text().replace(
        "def upgrade() -> None:\n    pass",
        "def upgrade() -> None:\n    import time\n    time.sleep(0.5)\n"
        "    op.create_table('things', sa.Column('id', sa.Integer, primary_key=True))"))
    url = database_url
    failures: list[BaseException] = []

    def start() -> None:
        engine = build_engine(url)
        try:
            schema.migrate(engine)
        except BaseException as exc:  # the test counts every failure
            failures.append(exc)
        finally:
            engine.dispose()

    pods = [threading.Thread(target=start) for _ in range(4)]
    for pod in pods:
        pod.start()
    for pod in pods:
        pod.join(timeout=120)
    assert failures == []
    assert "things" in inspect(build_engine(url)).get_table_names()
