"""Deterministic races on PostgreSQL, for the allocation service's tests of several workers.

`RacePoint` wraps a read the handlers make (test-only: the test patches the module attribute the real code
calls). The first time each transaction passes it, it waits there until every other party has passed it too,
is waiting for a lock in the database, or has finished. So two transactions that the database does not keep
apart both read the same state and both write (the race, every time); two that it does keep apart meet here
one after the other, the second held by the database until the first is done. Nothing is timed: the deadline
only turns a bug that would hang the test into a failure that says where.

`at_once` runs callables in their own threads (each with its own session) and returns what each returned or
raised, in order. `trigger_record` and `merge_record` make the records the workers read, as their producers
publish them."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.allocation import StepDownRequested
from frontdoor_contracts.contacts import ContactDecided, FamiliesMerged
from frontdoor_contracts.envelope import encode_event, new_event
from frontdoor_contracts.outcomes import FamilyIdentified

T = TypeVar("T")
PASSED = "race_point_passed"
DEADLINE_SECONDS = 120.0  # only a safety net: every wait below ends on an event, not on time


def fresh_postgres(postgres_server: Any) -> str:
    """A new database on the session's PostgreSQL server (or the external server's URL)."""
    if isinstance(postgres_server, str):
        return postgres_server
    return str(postgres_server.create_database("race_" + uuid.uuid4().hex[:12]))


class RacePoint:
    def __init__(self, engine: Engine, parties: int = 2):
        self._engine, self._parties = engine, parties
        self._arrived = self._finished = 0
        self._open = False
        self._changed = threading.Condition()
        self.raced = False  # every party was at the point at the same time: each read before any wrote
        self.held = False  # a party went on because another was held by the database

    def wrap(self, read: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(read)
        def at_the_race_point(session: Session, *args: Any, **kwargs: Any) -> T:
            found = read(session, *args, **kwargs)
            if not session.info.get(PASSED):
                session.info[PASSED] = True
                self.reach()
            return found

        return at_the_race_point

    def reach(self) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        with self._changed:
            self._arrived += 1
            self._changed.notify_all()
            while not self._open:
                if self._arrived >= self._parties:
                    self.raced = self._open = True
                elif self._arrived + self._finished >= self._parties:
                    self._open = True
                elif self._someone_waits_for_a_lock():
                    self.held = self._open = True
                elif time.monotonic() > deadline:
                    raise AssertionError("the other party never reached the race point, waited or finished")
                else:
                    self._changed.wait(0.02)
            self._changed.notify_all()

    def finished(self) -> None:
        with self._changed:
            self._finished += 1
            self._changed.notify_all()

    def _someone_waits_for_a_lock(self) -> bool:
        with self._engine.connect() as connection:
            waiting = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar_one()
        return int(waiting) > 0


def at_once(race: RacePoint, *work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread; what each returned, or the exception it raised."""
    results: list[Any] = [None] * len(work)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            results[index] = job()
        except Exception as exc:
            results[index] = exc
        finally:
            race.finished()

    threads = [threading.Thread(target=run, args=(i, job), name=f"race-{i}") for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_SECONDS)
        if thread.is_alive():
            raise AssertionError(f"{thread.name} did not finish")
    return results


@contextmanager
def patched(module: Any, name: str, race: RacePoint) -> Iterator[None]:
    """`module.name` wrapped with the race point while the block runs."""
    original = getattr(module, name)
    setattr(module, name, race.wrap(original))
    try:
        yield
    finally:
        setattr(module, name, original)


def failures(results: list[Any]) -> list[str]:
    """The exceptions among the results, by type name (what a test reports when a race went wrong)."""
    return [type(r).__name__ for r in results if isinstance(r, Exception)]


def trigger_record(kind: str, family: uuid.UUID, at: datetime) -> tuple[str, bytes, bytes, str]:
    """(topic, key, value, event id) of a trigger for `family`: a decision (`decided`, keyed by its contact, so
    one family's decisions land on any partition), a step-down or a family identified in data (keyed by the
    family)."""
    child = uuid.uuid4()
    if kind == "decided":
        contact = uuid.uuid4()
        decided = ContactDecided.model_validate({
            "contact_id": contact, "family_id": family, "decision": "early_help", "level_of_need": 3,
            "decided_at": at, "referrer_source": "school", "concerns": ["neglect"],
            "children": [{"child_id": child, "referral": True, "re_referral": False}], "referral": True,
            "re_referral": False})
        event = new_event(decided, source="urn:frontdoor:contacts", time=at)
        return "contacts.decided.v1", str(contact).encode(), encode_event(event), event.id
    if kind == "step_down":
        stepped = StepDownRequested(family_id=family, child_ids=[child], level_of_need=3, concerns=["neglect"],
                                    stepped_down_at=at, decided_by="sw-7")
        event = new_event(stepped, source="urn:la:case-system", time=at)
        return "frontdoor.step-downs.v1", str(family).encode(), encode_event(event), event.id
    found = FamilyIdentified(family_id=family, child_ids=[child], headline_problems=["school_attendance"],
                             identified_at=at)
    event = new_event(found, source="urn:frontdoor:outcomes", time=at)
    return "outcomes.family-identified.v1", str(family).encode(), encode_event(event), event.id


def merge_record(family: uuid.UUID, merged: list[uuid.UUID], at: datetime) -> tuple[str, bytes, bytes, str]:
    data = FamiliesMerged(family_id=family, merged_family_ids=merged, contact_id=uuid.uuid4(), merged_at=at)
    event = new_event(data, source="urn:frontdoor:contacts", time=at)
    return "contacts.families-merged.v1", str(family).encode(), encode_event(event), event.id
