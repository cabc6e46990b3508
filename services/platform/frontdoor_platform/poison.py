"""Whose fault a failure is: the record's (dead-letter it and go on) or the
platform's (the database or the broker is down: retry, loudly).

Anything raised while decoding or validating a record is the record's fault,
whatever its type: JSON nested past any sane depth, an integer literal past
Python's limit, bytes that are not UTF-8, a library's own assertion. So is a
handler failure that happens again when the record is run again with the
database answering. What is left, the database or the broker not answering,
is never pinned on a record: that would dead-letter good records during an
outage. Reasons and messages name the failure's type, never its text (which
may quote the record).

Two workers of a service may meet on one record (a partition moved by a
rebalance while its batch was being applied): its dead letter is written
once (`routes.add_dead_letter`: `INSERT ... ON CONFLICT DO NOTHING` on the
outbox's event id), and a deadlock or a serialization failure between them
(`transient_conflict`) is retried, never a record's fault."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from frontdoor_contracts.errors import FieldError, InvalidEvent

T = TypeVar("T")

# The database (or the pool in front of it) not answering, locked, or gone: never a record's fault.
INFRASTRUCTURE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, MemoryError, ConnectionError)


def is_infrastructure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE)


# PostgreSQL's serialization_failure and deadlock_detected: two transactions met; either may go again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def transient_conflict(exc: BaseException) -> bool:
    """A deadlock or a serialization failure: the transaction was rolled back because another one (another
    worker's) met it, not because of a record or an outage; run it again."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def undecodable(exc: BaseException) -> InvalidEvent:
    return InvalidEvent("undecodable", [FieldError("", "decode_failed",
                                                   f"the record could not be decoded ({type(exc).__name__})")])


def handler_failed(exc: BaseException) -> InvalidEvent:
    return InvalidEvent("handler_failed", [FieldError("", "handler_failed",
                                                      f"the handler failed on this record twice "
                                                      f"({type(exc).__name__}) with the database answering")])


def decode_record(decode: Callable[[bytes], T], value: bytes | None) -> T:
    """`decode(value)`, with every failure that is not an InvalidEvent turned into one (`undecodable`)."""
    try:
        return decode(value or b"")
    except InvalidEvent:
        raise
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        raise undecodable(exc) from None


def database_answers(session: Session) -> bool:
    """Does the database answer on this session's connection (inside its transaction)?"""
    try:
        with session.begin_nested():
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def engine_answers(engine: Engine) -> bool:
    """Does the database answer a trivial query on a fresh connection? (Blocking: call in a thread.)"""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False
