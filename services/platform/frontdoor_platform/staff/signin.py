"""One sign-in attempt from a staff page's form, never holding the database
while argon2 runs and never blocking the event loop.

The throttle (`throttle.py`) decides first whether the attempt may run
argon2 at all. Then at most `page_verifications_at_once` verifications run
at a time, each in a thread of its own small pool at a lower CPU priority
(nice 10 on Linux, so that the consumer, the service's loops and the API
come first when the CPU is short), plus one more kept for an address the
account signed in from (a flood of attempts from elsewhere can fill the
others, but not keep the account's owner out). Past that bound the answer
is "busy" at once (the page says 503 with Retry-After), never a queue, and
nothing is counted against the address. In the thread: a short read of
the stored hash, argon2 with no session open, a short write of the outcome
(the failure count, or the session). An unknown staff id goes the same
way, against the decoy hash, to the same UPDATE.

The right password of an account with a second factor (or one the
service requires a second factor of: `StaffPages(second_factor_required=)`)
starts a session half done (`sessions.Stage`): the TOTP code, or enrolling
one, is next, and the attempt is settled with the
throttle as neither right nor wrong (nothing cleared, the address not yet
trusted) until the code is right (`second_factor`: the same throttle,
rules 1-3, around the cheap code check). A one-time set-password code goes
through the same throttle (`set_password`): rule 1 as a sign-in, rules 2-3
counting only wrong codes (a right one is no guess, and is used up), then
argon2 for the new password in the same bounded pool, the code used up in
the short write after it."""


from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from argon2 import PasswordHasher
from limits.errors import StorageError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..database import for_writing
from ..http import in_thread
from . import accounts, links, sessions
from .config import StaffConfig
from .sessions import Stage
from .tables import StaffAccountBase, StaffTables
from .throttle import Throttle

ARGON2_NICE = 10  # the argon2 threads' nice value (0 is the process's own, 19 the lowest priority)
T = TypeVar("T")
Required = Callable[[Session, StaffAccountBase], bool]  # does this account need a second factor?
Record = Callable[[Session, str, str, datetime], None]  # audit (db, action, staff id, now): the owner's own change


class Outcome(enum.Enum):
    SIGNED_IN = "signed-in"  # or, for a set-password code, the password set
    REFUSED = "refused"  # unknown, wrong or delayed: the page says the same
    BUSY = "busy"  # too many verifications under way: try again in a moment


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    token: str | None = None  # the new session's cookie token, when the password was right
    stage: Stage = Stage.SIGNED_IN  # what that session may do: all, or the second factor next


@dataclass(frozen=True)
class Started:
    token: str
    stage: Stage


@dataclass(frozen=True)
class Book:
    """What the blocking steps need: the service's tables, settings and hooks."""

    tables: StaffTables
    config: StaffConfig
    required: Required | None = None
    record: Record | None = None


def stage_for(db: Session, book: Book, account: StaffAccountBase) -> Stage:
    """After the right password: an account with a second factor gives its code next; one the service
    requires a second factor of enrols one next; anyone else is signed in."""
    if account.totp_secret is not None:
        return Stage.CODE
    return Stage.ENROL if book.required is not None and book.required(db, account) else Stage.SIGNED_IN


def sign_in(engine: Engine, book: Book, staff_id: str, password: str, clock: Callable[[], datetime],
            hasher: PasswordHasher) -> Started | None:
    """Blocking (call it in a worker thread): the new session (its token and
    stage), or None. Two short transactions, and argon2 between them outside
    both."""
    with Session(engine) as db:
        stored = accounts.stored_hash(db, book.tables, staff_id)
    verdict = accounts.check(stored, password, hasher=hasher)
    with Session(for_writing(engine)) as db:
        now, started = clock(), None
        if verdict.right and stored is not None:
            account = accounts.record_success(db, book.tables, staff_id, stored, verdict.rehashed, now)
            if account is not None:
                stage = stage_for(db, book, account)
                started = Started(sessions.start(db, book.tables, account, stage, now, book.config)[0], stage)
        else:
            accounts.record_failure(db, book.tables, staff_id, now)
        db.commit()
    return started


def set_password(engine: Engine, book: Book, staff_id: str, code: str, password: str,
                 clock: Callable[[], datetime], hasher: PasswordHasher) -> bool:
    """Blocking (a worker thread): argon2 for the new password with no session open, then one short write
    that uses the code up, stores it and audits it as the owner's own change (never the password); False
    when the code was not usable by then."""
    password_hash = hasher.hash(password)
    with Session(for_writing(engine)) as db:
        done = links.redeem(db, book.tables, staff_id, code, password_hash, clock())
        if done and book.record is not None:
            book.record(db, "password_set", staff_id, clock())
        db.commit()
    return done


def code_usable(engine: Engine, tables: StaffTables, staff_id: str, code: str, now: datetime) -> bool:
    with Session(engine) as db:
        return links.usable(db, tables, staff_id, code, now)


def forget_expired_codes(engine: Engine, tables: StaffTables, now: datetime) -> None:
    with Session(for_writing(engine)) as db:
        links.purge_expired(db, tables, now)
        db.commit()


def _low_priority() -> None:
    """First thing in each argon2 thread: a lower CPU priority (Linux keeps
    a nice value per thread, and argon2's own lane threads inherit it), so
    that when the CPU is short the consumer, the service's loops and the API
    come before password guesses. Elsewhere it stays as it is."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ARGON2_NICE)


class SignIns:
    """The pages' sign-in attempts: the throttle and the bound on argon2 at once (one per app)."""

    def __init__(self, book: Book, hasher: PasswordHasher | None = None):
        self.book = book
        self.throttle = Throttle(book.config)
        self._hasher = hasher
        self._at_once = book.config.page_verifications_at_once
        self._verifying = 0
        # argon2's own threads (made when first needed; they end with this object)
        self._argon2 = ThreadPoolExecutor(self._at_once + 1, thread_name_prefix="argon2", initializer=_low_priority)

    @property
    def hasher(self) -> PasswordHasher:
        return self._hasher or accounts.HASHER

    def _verified(self, _: object) -> None:
        self._verifying -= 1

    def _take_slot(self, trusted: bool) -> bool:
        if self._verifying >= self._at_once + (1 if trusted else 0):
            return False
        self._verifying += 1
        return True

    async def _argon2_job(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work` in argon2's pool, in the slot already taken (freed when the thread is done)."""
        job = asyncio.get_running_loop().run_in_executor(self._argon2, work, *args)
        job.add_done_callback(self._verified)  # the slot is free when the thread is, whatever this task does
        return await asyncio.shield(job)

    async def attempt(self, engine: Engine, clock: Callable[[], datetime], staff_id: str, password: str,
                      address: str) -> Attempt:
        throttle = self.throttle
        if not throttle.begin(staff_id, address, clock()):
            return Attempt(Outcome.REFUSED)
        right: bool | None = None
        try:
            try:
                trusted = await throttle.trusted(staff_id, address)
            except StorageError:
                return Attempt(Outcome.BUSY)
            if not self._take_slot(trusted):
                return Attempt(Outcome.BUSY)
            try:  # the slot is this attempt's while its limits are counted
                admitted: bool | None = trusted or await throttle.within_limits(staff_id, address)
            except StorageError:
                admitted = None
            if not admitted:
                self._verifying -= 1
                return Attempt(Outcome.REFUSED if admitted is False else Outcome.BUSY)
            started = await self._argon2_job(sign_in, engine, self.book, staff_id, password, clock, self.hasher)
            if started is None:
                right = False
                return Attempt(Outcome.REFUSED)
            right = True if started.stage is Stage.SIGNED_IN else None  # half done: the code decides
            return Attempt(Outcome.SIGNED_IN, started.token, started.stage)
        finally:
            await throttle.settle(staff_id, address, clock(), right)

    async def second_factor(self, clock: Callable[[], datetime], staff_id: str, address: str,
                            check: Callable[[], Awaitable[bool]]) -> Outcome:
        """A TOTP code through the same throttle as a password (rules 1-3); `check` says whether it was right
        (and takes its step). A right code clears the account's delay here and trusts the address."""
        throttle = self.throttle
        if not throttle.begin(staff_id, address, clock()):
            return Outcome.REFUSED
        right: bool | None = None
        try:
            try:
                admitted = await throttle.trusted(staff_id, address) or await throttle.within_limits(
                    staff_id, address)
            except StorageError:
                return Outcome.BUSY
            if not admitted:
                return Outcome.REFUSED
            right = await check()
            return Outcome.SIGNED_IN if right else Outcome.REFUSED
        finally:
            await throttle.settle(staff_id, address, clock(), right)

    async def set_password(self, engine: Engine, clock: Callable[[], datetime], staff_id: str, code: str,
                           password: str, address: str) -> Outcome:
        """A one-time code and a new password (already within the policy): rule 1, rules 2-3 counting a wrong
        code only, then argon2 in the bounded pool; SIGNED_IN means the password is set."""
        throttle = self.throttle
        if not throttle.begin(staff_id, address, clock()):
            return Outcome.REFUSED
        right: bool | None = None
        try:
            try:
                trusted = await throttle.trusted(staff_id, address)
                if not (trusted or await throttle.room_within_limits(staff_id, address)):
                    return Outcome.REFUSED
                if not await in_thread(code_usable, engine, self.book.tables, staff_id, code, clock()):
                    right = False
                    await throttle.count_within_limits(staff_id, address)
                    await in_thread(forget_expired_codes, engine, self.book.tables, clock())
                    return Outcome.REFUSED
            except StorageError:
                return Outcome.BUSY
            if not self._take_slot(trusted):
                return Outcome.BUSY
            right = await self._argon2_job(set_password, engine, self.book, staff_id, code, password, clock,
                                           self.hasher)
            return Outcome.SIGNED_IN if right else Outcome.REFUSED
        finally:
            await throttle.settle(staff_id, address, clock(), right, trust=False)
