"""Triggers that make a table append-only, for a migration to run: no UPDATE,
no DELETE and (PostgreSQL) no TRUNCATE. A table a retention purge may thin
(`purgeable`) lets a DELETE through only for a row older (`at`) than a cutoff
the purge recorded first in `<table>_purges`. No colon or percent sign: the
statements go through `text()` unescaped. Used by the audit trail and the
read log."""

from __future__ import annotations


def append_only_sql(dialect: str, table: str, *, purgeable: bool = False) -> list[str]:
    purges, refusal = f"{table}_purges", f"'the {table} table is append-only'"
    if dialect == "sqlite":
        allowed = f"WHEN NOT EXISTS (SELECT 1 FROM {purges} WHERE OLD.at < {purges}.before) " if purgeable else ""
        return [f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, {refusal}); END",
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {allowed}"
                f"BEGIN SELECT RAISE(ABORT, {refusal}); END"]
    if dialect == "postgresql":
        function = f"{table}_append_only"
        allowed = (f"IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM {purges} WHERE OLD.at < {purges}.before) THEN "
                   "RETURN OLD; END IF; ") if purgeable else ""
        return [f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{allowed}RAISE EXCEPTION {refusal}; END $$",
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"]
    raise ValueError(f"no append-only triggers for the {dialect} dialect")


def drop_append_only_sql(dialect: str, table: str) -> list[str]:
    """What `append_only_sql` made, dropped (a downgrade runs them before dropping the table)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for verb in ("update", "delete")]
    return [f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()"]
