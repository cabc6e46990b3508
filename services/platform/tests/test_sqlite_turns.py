"""Writers of one SQLite file in one process take turns in the order they
asked, so a writer that commits in a tight loop (the consumer's small
batches) cannot keep the outbox relay's update waiting while SQLite's own
busy handler sleeps between its tries."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.sqlite_turns import FileTurn, WriterTurns, turns_of


def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_turns_go_in_the_order_asked_and_the_holder_asks_again_freely() -> None:
    turns = WriterTurns(wait_seconds=5)
    first, second, third = object(), object(), object()
    assert turns.take(first) and turns.take(first)  # the holder asking again has it already
    order: list[str] = []

    def writer(name: str, owner: object) -> None:
        assert turns.take(owner)
        order.append(name)
        turns.give_back(owner)

    threads = [threading.Thread(target=writer, args=("second", second))]
    threads[0].start()
    wait_for(lambda: turns.waiting == 1)
    threads.append(threading.Thread(target=writer, args=("third", third)))
    threads[1].start()
    wait_for(lambda: turns.waiting == 2)
    turns.give_back(object())  # not the holder: nothing changes
    assert turns.holder is first and turns.waiting == 2
    turns.give_back(first)
    for thread in threads:
        thread.join(5)
    assert order == ["second", "third"] and turns.holder is None and turns.waiting == 0


def test_a_writer_that_waited_too_long_goes_on_without_a_turn_and_leaves_the_queue_as_it_was() -> None:
    turns = WriterTurns(wait_seconds=0.05)
    kept, late = object(), object()
    assert turns.take(kept)
    assert turns.take(late) is False  # the holder never gave it back: SQLite's own lock decides now
    assert turns.holder is kept and turns.waiting == 0
    turns.give_back(late)  # it never had one: nothing changes
    assert turns.holder is kept
    turns.give_back(kept)
    assert turns.take(late) and turns.holder is late


def test_a_waiting_writer_commits_before_the_holder_writes_again(tmp_path: Path) -> None:
    """The holder commits and at once begins another write: the writer that was waiting goes first (with
    SQLite's busy handler alone it slept through that moment and the holder wrote again)."""
    engine = build_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    writer = for_writing(engine)
    with writer.begin() as connection:
        connection.execute(text("CREATE TABLE written (id INTEGER PRIMARY KEY, who TEXT)"))
    turns = turns_of(engine)
    assert turns is not None and turns_of(writer) is turns

    def other() -> None:
        with writer.begin() as connection:
            connection.execute(text("INSERT INTO written (who) VALUES ('other')"))

    holder = writer.connect()
    transaction = holder.begin()
    holder.execute(text("INSERT INTO written (who) VALUES ('holder 1')"))
    waiting = threading.Thread(target=other)
    waiting.start()
    wait_for(lambda: turns.waiting == 1)
    transaction.commit()
    with holder.begin():
        holder.execute(text("INSERT INTO written (who) VALUES ('holder 2')"))
    holder.close()
    waiting.join(10)
    with engine.connect() as connection:
        order = [row[0] for row in connection.execute(text("SELECT who FROM written ORDER BY id"))]
    assert order == ["holder 1", "other", "holder 2"]
    assert turns.holder is None and turns.waiting == 0
    engine.dispose()


def test_a_turn_is_given_back_when_the_transaction_fails(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    writer = for_writing(engine)
    turns = turns_of(engine)
    assert turns is not None
    try:
        with writer.begin() as connection:
            connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
    except Exception:
        pass
    assert turns.holder is None
    with writer.begin() as connection:  # the next writer is not kept waiting
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    assert turns.holder is None
    engine.dispose()


def test_writers_in_other_processes_meet_at_the_databases_companion_lock(tmp_path: Path) -> None:
    """Two FileTurns on one path stand for two processes (flock is per open file): while one holds the
    lock the other waits for it, and has it as soon as it is given back."""
    path = tmp_path / "db.sqlite.writers"
    worker, api = FileTurn(path), FileTurn(path)
    assert worker.take(wait_seconds=1)
    assert api.take(wait_seconds=0.02) is False  # waited its time: goes on without, SQLite decides
    took: list[bool] = []
    asking = threading.Thread(target=lambda: took.append(api.take(wait_seconds=5)))
    asking.start()
    time.sleep(0.01)
    worker.give_back()
    asking.join(5)
    assert took == [True] and api.held and not worker.held
    api.give_back()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_kit_engine_on_a_file_takes_the_companion_lock_for_each_write(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    other_process = FileTurn(tmp_path / "turns.db.writers")
    with for_writing(engine).begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert other_process.take(wait_seconds=0.02) is False  # the writer holds it
    assert other_process.take(wait_seconds=1)  # given back with the commit
    other_process.give_back()
    engine.dispose()
