"""Pinning a fault on the right record of a batch: what the database refusing a record means
(`CONFLICT`, `RECORD_FAULTS`), the fast path's guard that turns any fault that may be a record's into
`Poison` (so the batch is applied again with a savepoint per record), and what a handler keeps in
`session.info`, taken back when its savepoint is; and a batch applied again, in place, when another
worker's transaction deadlocked with it or made it fail to serialize (`again_on_conflict`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DataError, IntegrityError

from frontdoor_contracts.errors import FieldError, InvalidEvent

from .poison import handler_failed, is_infrastructure, transient_conflict

log = logging.getLogger("frontdoor.consumer")

R = TypeVar("R")
CONFLICT = InvalidEvent("integrity_conflict", [FieldError("", "conflict", "the record conflicts with stored data")])
# What the record made the database refuse (a conflict, a value too long for its column).
RECORD_FAULTS = (IntegrityError, DataError)


def snapshot_info(info: dict[Any, Any]) -> dict[Any, Any]:
    """What a handler keeps in `session.info` (e.g. the versions of the rows it read), one level deep."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in info.items()}


def restore_info(info: dict[Any, Any], kept: dict[Any, Any]) -> None:
    """A rolled-back savepoint takes those caches back with it: a version counted for an update that was
    undone would make the next update of that row look stale, forever."""
    info.clear()
    info.update(kept)


class Poison(Exception):
    """A fault on the fast path that may be the record at `index`'s (-1: not one record's step)."""

    def __init__(self, index: int, error: InvalidEvent):
        self.index, self.error = index, error


def guarded(index: int, work: Callable[..., R], *args: Any) -> R:
    """The fast path: any fault that may be a record's sends the batch to the careful re-run."""
    try:
        return work(*args)
    except InvalidEvent as error:
        raise Poison(index, error) from None
    except RECORD_FAULTS:
        raise Poison(index, CONFLICT) from None
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        raise Poison(index, handler_failed(exc)) from None


CONFLICT_RETRIES = 5


def again_on_conflict(work: Callable[[], R], records: int, retries: int = CONFLICT_RETRIES,
                      on_retry: Callable[[], None] = lambda: None) -> R:
    """`work()` (a whole batch's transaction), run again when it was rolled back by a deadlock or a
    serialization failure with another worker, up to `retries` times in all, after a short random pause so
    the two do not meet again; the consumer neither restarts nor leaves its group. `on_retry` is called
    before each run again (the consumer counts it). Anything else, or the last attempt's failure, is raised."""
    for attempt in range(1, retries + 1):
        try:
            return work()
        except Exception as exc:
            if not transient_conflict(exc) or attempt == retries:
                raise
            log.warning("batch rolled back by a deadlock or serialization failure with another worker; applying "
                        "it again", extra={"records": records, "attempt": attempt})
            on_retry()
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("retries must be at least 1")
