"""Pinning a fault on the right record of a batch: what the database refusing a record means
(`CONFLICT`, `RECORD_FAULTS`), the fast path's guard that turns any fault that may be a record's into
`Poison` (so the batch is applied again with a savepoint per record), and what a handler keeps in
`session.info`, taken back when its savepoint is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DataError, IntegrityError

from frontdoor_contracts.errors import FieldError, InvalidEvent

from .poison import handler_failed, is_infrastructure

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
