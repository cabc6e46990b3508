"""Two workers of the contacts service at the same moment, on PostgreSQL (unique module name: pytest puts
this folder on sys.path through its conftest).

Each worker applies its batch with the kit's `BatchConsumer.apply_batch` (the prefetch, the handlers, the
one transaction, the careful re-run after a conflict), in its own thread and so its own session and
transaction. A function of the handler code chosen by the test (`hold`: one called once a worker has
looked its people up) is wrapped so that each worker stops at its first call to it. Worker a runs to that
point first; then worker b runs until it stops there too (nothing kept it from reading what a read:
without the database's locks, the two decide on the same reads), or finishes, or waits on a lock in
PostgreSQL (the database kept it from reading until a commits). Then both go on. What the two left behind
is the test's to check; `Race` says how they got there."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from contacts_testkit import NOW, SEALING
from sqlalchemy import text
from sqlalchemy.engine import Engine

from contacts import subscriptions
from contacts.metrics import Metrics
from contacts.models import OutboxEvent
from contacts.settings import Settings
from frontdoor_platform.consumer import BatchConsumer, BatchResult

CONTACTS, DECISIONS = "frontdoor.contacts.v1", "frontdoor.decisions.v1"
OFFSETS = itertools.count(1)
GUARD_SECONDS = 60.0  # a hang guard only: every wait ends long before it, or the test fails saying where


def records(*items: tuple[str, bytes]) -> list[ConsumerRecord[bytes, bytes]]:
    """A batch as the broker hands it over: each (topic, payload) on partition 0, at a new offset."""
    return [ConsumerRecord(topic, 0, next(OFFSETS), 0, 0, None, payload, None, 0, 0, []) for topic, payload in items]


class Worker(BatchConsumer):
    """The kit's consumer, counting the batches it had to re-run record by record (after a conflict the
    fast path could not pin on one record: a unique constraint refusing a row another worker wrote)."""

    def __init__(self, engine: Engine) -> None:
        metrics = Metrics()
        super().__init__(bootstrap="unused:9092", group="g", client_id="race",
                         routes=subscriptions.routes(Settings(), metrics, sealing=SEALING), engine=engine,
                         outbox=OutboxEvent, metrics=metrics, clock=lambda: NOW)
        self.careful_runs = 0

    def _transaction(self, records: Sequence[Any], careful: bool) -> BatchResult:
        self.careful_runs += careful
        return super()._transaction(records, careful)


@dataclass
class Race:
    """How the two workers went: who stopped at the hold point before they were let go (both: neither
    waited for the other), whether b waited on a lock in the database, the careful re-runs, the dead
    letters and any exception."""

    stopped: set[str] = field(default_factory=set)
    waited_on_lock: bool = False
    careful_runs: int = 0
    dead_lettered: list[tuple[str, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def waiting_on_locks(engine: Engine) -> int:
    """Sessions of this database waiting for a lock (a row, a key, an advisory lock) held by another."""
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND wait_event_type = 'Lock'")
        return int(connection.execute(query).scalar_one())


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"the race never got to: {what}")
        time.sleep(0.01)


def race(engine: Engine, monkeypatch: pytest.MonkeyPatch, hold: tuple[ModuleType, str],
         first: Sequence[tuple[str, bytes]], second: Sequence[tuple[str, bytes]]) -> Race:
    """Worker a applies `first`, worker b `second`, both held at `hold` (module, function name) as the
    module docstring says; returns once both are done."""
    module, name = hold
    original = getattr(module, name)
    arrived = {"a": threading.Event(), "b": threading.Event()}
    go = threading.Event()
    result = Race()

    def held(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)
        worker = threading.current_thread().name
        if worker in arrived and not arrived[worker].is_set() and not go.is_set():
            result.stopped.add(worker)
            arrived[worker].set()
            go.wait(GUARD_SECONDS)
        return answer

    monkeypatch.setattr(module, name, held)

    def run(batch: Sequence[tuple[str, bytes]]) -> None:
        worker = Worker(engine)
        try:
            applied = worker.apply_batch(records(*batch))
            result.dead_lettered += applied.dead_lettered
        except BaseException as error:  # the test reports it
            result.errors.append(error)
        finally:
            result.careful_runs += worker.careful_runs

    threads = {w: threading.Thread(target=run, args=(batch,), name=w) for w, batch in (("a", first), ("b", second))}
    threads["a"].start()
    _until(lambda: arrived["a"].is_set() or not threads["a"].is_alive(), "worker a at the hold point")
    threads["b"].start()

    def b_went_as_far_as_it_could() -> bool:
        if arrived["b"].is_set() or not threads["b"].is_alive():
            return True
        result.waited_on_lock = waiting_on_locks(engine) > 0
        return result.waited_on_lock

    _until(b_went_as_far_as_it_could, "worker b at the hold point, done, or waiting on a lock")
    go.set()
    for thread in threads.values():
        thread.join(GUARD_SECONDS)
        assert not thread.is_alive(), f"worker {thread.name} never finished"
    return result
