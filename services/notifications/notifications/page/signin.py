"""One sign-in attempt from the page's form, never holding the database
while argon2 runs and never blocking the event loop.

The throttle (`throttle.py`) decides first whether the attempt may run
argon2 at all. Then at most `page_verifications_at_once` verifications run
at a time, each in a worker thread, plus one more kept for an address the
account signed in from (so that a flood of attempts from elsewhere, which
can fill the others, cannot keep the key adult's own out); past that bound
the answer is "busy" at once (the page says 503 with Retry-After), never
a queue, and nothing is counted against the address. In the thread:
a short read of the stored hash, argon2 with no session open, a short
write of the outcome (the failure count, or the session). An unknown staff
id goes the same way, against the decoy hash, to the same UPDATE."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from limits.errors import StorageError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread

from ..settings import Settings
from . import accounts
from .throttle import Throttle


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


class SignIns:
    """The page's sign-in attempts: the throttle and the bound on argon2 at once (one per app)."""

    def __init__(self, settings: Settings, hasher: PasswordHasher | None = None):
        self.settings = settings
        self.throttle = Throttle(settings)
        self._hasher = hasher
        self._at_once = settings.page_verifications_at_once
        self._verifying = 0

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
            self._verifying += 1
            try:
                if not trusted and not await throttle.within_limits(staff_id, address):
                    return Attempt(Outcome.REFUSED)
                token = await in_thread(sign_in, engine, staff_id, password, clock, self.settings,
                                        self._hasher or accounts.HASHER)
            except StorageError:
                return Attempt(Outcome.BUSY)
            finally:
                self._verifying -= 1
            right = token is not None
            return Attempt(Outcome.SIGNED_IN if token else Outcome.REFUSED, token)
        finally:
            await throttle.settle(staff_id, address, clock(), right)
