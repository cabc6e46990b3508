"""Database plumbing: times stored as UTC, and engines built the same way
for every service (SQLite durable on commit, PostgreSQL by URL). Called by
lifespans and CLIs, never at import time.

SQLite: SQLAlchemy (not the driver) begins transactions, so SAVEPOINT
works and a consumer can roll back one poison record inside its batch; a
session on `for_writing(engine)` begins with BEGIN IMMEDIATE (one writer at
a time, waiting its turn instead of failing on a lock upgrade), any other
with a plain BEGIN (readers never wait in WAL mode)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, create_engine, event, text
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.types import TypeDecorator

from .private_files import private_directory, private_file
from .sqlite_turns import FileTurn, WriterTurns, take_turns

log = logging.getLogger("frontdoor.database")


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere (SQLite keeps no zone); read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are stored in UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_column(nullable: bool = False, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)


WRITER_OPTION = "frontdoor_writer"
SQLITE_BUSY_SECONDS = 30.0  # how long a SQLite writer waits for the lock before its statement fails


def for_writing(engine: Engine) -> Engine:
    """The same engine and pool, for sessions that will write (on SQLite
    they take the write lock at BEGIN; elsewhere nothing changes)."""
    return engine.execution_options(**{WRITER_OPTION: True})


def private_sqlite_file(path: Path) -> None:
    """A SQLite database file only its owner can read: its folder made 0700
    if missing, the file made 0600 before SQLite creates it (SQLite gives its
    -wal and -shm files the database file's mode), an existing one and its
    companions tightened to 0600."""
    private_directory(path.parent)
    private_file(path, "-wal", "-shm", "-journal")


def _is_uri(database: str, query: Mapping[str, Any]) -> bool:
    return database.startswith("file:") or str(query.get("uri", "")).lower() in ("true", "1")


SCRATCH_CHECKPOINT_PAGES = 65_536  # 256 MB of 4 kB pages: `durable=False`'s write-ahead log between checkpoints


def build_engine(database_url: str, pool_size: int = 10, *, durable: bool = True) -> Engine:
    """PostgreSQL (`postgresql://` means psycopg 3) or SQLite, whose file is
    private to its owner (`private_sqlite_file`) and which commits durably
    (WAL, synchronous=FULL), so a consumer's offsets never run ahead of what
    is on disk. `durable=False` (SQLite only: a database built again from
    the start if anything stops, like a rebuild's) syncs at checkpoints, not
    at each commit (synchronous=NORMAL), and checkpoints every 256 MB of
    write-ahead log, not every 4 MB: a power cut may lose the last commits,
    never the file's consistency; the log is written into the file when the
    last connection closes. A rebuild's commits took a tenth of its time."""
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
    if url.database and url.database != ":memory:" and not _is_uri(url.database, url.query):
        private_sqlite_file(Path(url.database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
                           pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
        if not durable:
            cursor.execute(f"PRAGMA wal_autocheckpoint={SCRATCH_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free pages: an erased person's details (a
        # privacy erasure, a retention purge) do not stay readable in the file (docs/security.md).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    on_disk = url.database and url.database != ":memory:" and not _is_uri(url.database, url.query)
    across = FileTurn(Path(f"{url.database}.writers")) if on_disk else None
    turns = WriterTurns(wait_seconds=SQLITE_BUSY_SECONDS, across=across)
    take_turns(engine, turns)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITER_OPTION, False)
        if immediate:  # queue in this process first: SQLite's own waiting can starve a writer (sqlite_turns)
            turns.take(connection.connection.dbapi_connection)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def insert_once(session: Any, row: Any) -> bool:
    """Insert a table row (a SQLModel instance, not added to the session) unless a row with one of its unique
    keys is there: `INSERT ... ON CONFLICT DO NOTHING`, written now (the session's pending rows first). True
    when inserted. Two workers inserting the same row at once make one: the second waits for the first's
    commit and inserts nothing, where `session.add` would fail its batch on the unique key."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    session.flush()
    table = type(row).__table__
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    values = {column.key: getattr(row, column.key) for column in table.columns
              if getattr(row, column.key, None) is not None}
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return session.execute(statement).first() is not None


HOLDER_LOCKS = 0x46440003  # the advisory locks' first key: one holder among a service's workers


class HeldLock:
    """A PostgreSQL session advisory lock held on a connection of its own until released: one holder among
    several processes (e.g. the one active stream among a service's workers; a killed holder's connection
    closes and lets it go). Always granted on SQLite (one worker). Blocking calls: run them in a thread."""

    def __init__(self, engine: Engine, name: str):
        import zlib

        self._engine = engine
        self._key = zlib.crc32(name.encode()) - 2**31  # a signed 32-bit key per name
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = bool(self._connection.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                                  {"a": HOLDER_LOCKS, "b": self._key}).scalar())
        except Exception:
            self._drop()
            raise
        if not taken:
            self._drop()
        return taken

    def still_held(self) -> bool:
        """Does the connection holding the lock still answer? (A lost connection lost the lock.)"""
        if self._engine.dialect.name != "postgresql":
            return True
        try:
            return self._connection is not None and self._connection.execute(text("SELECT 1")).scalar() == 1
        except Exception:
            return False

    def release(self) -> None:
        """Let the lock go: unlocked, or its connection closed for good (never back in the pool holding it)."""
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": HOLDER_LOCKS, "b": self._key})
        except Exception:
            connection.invalidate()  # the server session ends, and the lock with it
        self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                log.warning("a lock's connection did not close cleanly")


def answers(engine: Engine) -> bool:
    """Does the database answer a trivial query? (Blocking: call in a thread.)"""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    return True


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database file and truncate it (`wal_checkpoint(TRUNCATE)`),
    so content deleted or overwritten (an erasure, a purge: zeroed in the file by `secure_delete`) does not
    stay in the log's old frames. A connection left open elsewhere (idle) does not stop it. Blocking: call
    it in a thread. Nothing on PostgreSQL (its own WAL is recycled; dead rows go at VACUUM)."""
    if engine.dialect.name != "sqlite":
        return
    for attempt in range(20):  # a reader inside a transaction makes it busy: wait for it, briefly
        with engine.connect() as connection:  # on the driver's own connection: outside any transaction (a
            raw = connection.connection.driver_connection  # writer engine would BEGIN IMMEDIATE: "table is locked")
            busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] if raw is not None else 1
        if not busy:
            return
        time.sleep(0.05 * (attempt + 1))
    log.warning("the write-ahead log could not be checkpointed now (a reader held it)")


MIGRATION_LOCK = 0x46440001  # a PostgreSQL advisory lock id: the platform's migrations, one at a time


def migrate(engine: Engine, migrations: Path) -> None:
    """Bring the schema to the newest revision of a service's Alembic
    `migrations` folder (its env.py calls `run_migrations`)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # several pods starting at once: one migrates, the rest wait
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        tables = set(inspect(connection).get_table_names())
        if tables and "alembic_version" not in tables:
            raise RuntimeError(f"{engine.url.render_as_string(hide_password=True)} has tables but no migration "
                               "history (made before migrations): move it aside or migrate it by hand")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Schema:
    """A service's schema history: its Alembic `migrations` package (env.py calling `run_migrations`,
    revisions in versions/). Each service's `migrations/__init__.py` names it: `SCHEMA = Schema(__path__[0])`."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def migrate(self, engine: Engine) -> None:
        """Bring the schema to the newest revision."""
        migrate(engine, self.folder)

    def new_revision(self, message: str, today: datetime | None = None) -> Path:
        """Write an empty revision after the newest, from the kit's one template (the drift test then
        says what it must hold). Returns the new file."""
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from alembic.util import format_as_comma
        from mako.template import Template  # type: ignore[import-untyped]

        config = Config()
        config.set_main_option("script_location", str(self.folder))
        head = ScriptDirectory.from_config(config).get_current_head()
        number = len(list((self.folder / "versions").glob("[0-9]*_*.py"))) + 1
        slug = "_".join("".join(c if c.isalnum() else " " for c in message.lower()).split())[:40] or "revision"
        target = self.folder / "versions" / f"{number:04d}_{slug}.py"
        if target.exists():
            raise FileExistsError(target.name)
        rendered = Template(filename=str(TEMPLATE)).render(
            message=message, up_revision=f"{number:04d}", down_revision=head,
            create_date=(today or datetime.now()).isoformat(sep=" ", timespec="seconds"), imports="",
            branch_labels=None, depends_on=None, upgrades="", downgrades="", comma=format_as_comma)
        target.write_text(rendered)
        return target


TEMPLATE = Path(__file__).parent / "migration_template" / "script.py.mako"


def run_migrations(metadata: Any) -> None:
    """The body of every service's migrations/env.py: run on the connection
    `migrate` hands over (batch mode on SQLite, which cannot alter tables)."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through the service's migrations.SCHEMA.migrate(engine)")
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
