"""One sign-in attempt from the page's form, never holding the database
while argon2 runs and never blocking the event loop.

The throttle (`throttle.py`) decides first whether the attempt may run
argon2 at all. Then at most `page_verifications_at_once` verifications run
at a time, each in a thread of its own small pool at a lower CPU priority
(nice 10 on Linux, so that the consumer, the delivery loop and the API
come first when the CPU is short), plus one more kept for an address the
account signed in from (a flood of attempts from elsewhere can fill the
others, but not keep the key adult's own out). Past that bound the answer
is "busy" at once (the page says 503 with Retry-After), never a queue, and
nothing is counted against the address. In the thread: a short read of
the stored hash, argon2 with no session open, a short write of the outcome
(the failure count, or the session). An unknown staff id goes the same
way, against the decoy hash, to the same UPDATE."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from limits.errors import StorageError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing

from ..settings import Settings
from . import accounts
from .throttle import Throttle

ARGON2_NICE = 10  # the argon2 threads' nice value (0 is the process's own, 19 the lowest priority)


class Outcome(enum.Enum):
    SIGNED_IN = "signed-in"
    REFUSED = "refused"  # unknown, wrong or delayed: the page says the same
    BUSY = "busy"  # too many verifications under way: try again in a moment


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    token: str | None = None  # the new session's cookie token, when signed in


def sign_in(engine: Engine, staff_id: str, password: str, clock: Callable[[], datetime], settings: Settings,
            hasher: PasswordHasher) -> str | None:
    """Blocking (call it in a worker thread): the new session's token, or
    None. Two short transactions, and argon2 between them outside both."""
    with Session(engine) as db:
        stored = accounts.stored_hash(db, staff_id)
    verdict = accounts.check(stored, password, hasher=hasher)
    with Session(for_writing(engine)) as db:
        now, token = clock(), None
        if verdict.right and stored is not None:
            adult = accounts.record_success(db, staff_id, stored, verdict.rehashed, now)
            if adult is not None:
                token, _ = accounts.start_session(db, adult, now, settings)
        else:
            accounts.record_failure(db, staff_id, now)
        db.commit()
    return token


def _low_priority() -> None:
    """First thing in each argon2 thread: a lower CPU priority (Linux keeps
    a nice value per thread, and argon2's own lane threads inherit it), so
    that when the CPU is short the consumer, the delivery loop and the API
    come before password guesses. Elsewhere it stays as it is."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ARGON2_NICE)


class SignIns:
    """The page's sign-in attempts: the throttle and the bound on argon2 at once (one per app)."""

    def __init__(self, settings: Settings, hasher: PasswordHasher | None = None):
        self.settings = settings
        self.throttle = Throttle(settings)
        self._hasher = hasher
        self._at_once = settings.page_verifications_at_once
        self._verifying = 0
        # argon2's own threads (made when first needed; they end with this object)
        self._argon2 = ThreadPoolExecutor(self._at_once + 1, thread_name_prefix="argon2", initializer=_low_priority)

    def _verified(self, _: object) -> None:
        self._verifying -= 1

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
            if self._verifying >= self._at_once + (1 if trusted else 0):
                return Attempt(Outcome.BUSY)
            self._verifying += 1  # the slot is this attempt's while its limits are counted
            try:
                admitted: bool | None = trusted or await throttle.within_limits(staff_id, address)
            except StorageError:
                admitted = None
            if not admitted:
                self._verifying -= 1
                return Attempt(Outcome.REFUSED if admitted is False else Outcome.BUSY)
            job = asyncio.get_running_loop().run_in_executor(self._argon2, sign_in, engine, staff_id, password,
                                                             clock, self.settings, self._hasher or accounts.HASHER)
            job.add_done_callback(self._verified)  # the slot is free when the thread is, whatever this task does
            token = await asyncio.shield(job)
            right = token is not None
            return Attempt(Outcome.SIGNED_IN if token else Outcome.REFUSED, token)
        finally:
            await throttle.settle(staff_id, address, clock(), right)
