"""The contacts service's locks on PostgreSQL (`contacts.locks`): each value named is locked once, held to
the end of the transaction; a transaction that would hold more than the budget holds the whole index
alone instead (PostgreSQL's lock table is shared and bounded); nothing is taken on SQLite."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contacts import locks
from contacts.migrations import migrate
from frontdoor_platform.database import build_engine


def advisory(session: Session) -> list[tuple[int, str]]:
    """The advisory locks this session holds: (number, mode)."""
    rows = session.execute(text(
        "SELECT (classid::bigint << 32) | objid::bigint, mode FROM pg_locks "
        "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"))
    return sorted((unsigned(int(number)), str(mode)) for number, mode in rows)


def unsigned(number: int) -> int:
    return number & 0xFFFFFFFFFFFFFFFF


def test_a_few_values_are_locked_each_once_under_the_index_shared(postgres_engine: Engine) -> None:
    names = ["nhs:9434765919", "upn:A801200000015", "nhs:9434765919", "contact:1"]
    with Session(postgres_engine) as session:
        locks.hold(session, names)
        locks.hold(session, ["contact:1"])  # again: nothing new
        held = advisory(session)
        assert held == sorted([(locks.INDEX, "ShareLock"),
                               *((unsigned(locks.number(n)), "ExclusiveLock") for n in set(names))])
        session.commit()
        assert advisory(session) == []  # let go at the end of the transaction


def test_a_transaction_that_would_hold_more_than_the_budget_holds_the_whole_index_alone(
        postgres_engine: Engine) -> None:
    with Session(postgres_engine) as session:
        locks.hold(session, [f"name:{n}" for n in range(locks.FIRST_AT_MOST + 1)])
        assert advisory(session) == [(locks.INDEX, "ExclusiveLock")]
        locks.hold(session, ["contact:2"])  # alone already: nothing more to take
        assert advisory(session) == [(locks.INDEX, "ExclusiveLock")]
    with Session(postgres_engine) as session:
        for start in range(0, locks.BUDGET, 100):  # step by step past the budget
            locks.hold(session, [f"name:{n}" for n in range(start, start + 100)])
        assert (locks.INDEX, "ExclusiveLock") in advisory(session)
        assert len(advisory(session)) <= locks.BUDGET + 2


def test_nothing_is_taken_on_sqlite(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'contacts.db'}")
    migrate(engine)
    with Session(engine) as session:
        assert not locks.in_force(session)
        locks.hold(session, ["nhs:9434765919"])
        locks.settle(session, [])
    engine.dispose()
