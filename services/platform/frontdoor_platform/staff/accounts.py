"""Staff accounts' passwords, for any service's account table.

Passwords are kept as argon2id hashes (argon2-cffi's defaults; a hash made
with other parameters is replaced at the next sign-in). Signing in is three
steps, so that argon2 (about 160 ms of CPU) never runs inside a database
transaction: `stored_hash` (a short read), `check` (argon2, no session at
all), then `record_failure` or `record_success` (a short write). An unknown
staff id and an account without a password cost the same: `check` verifies
a decoy hash with the same parameters, and `record_failure` runs the same
single UPDATE, which then changes no row.

There is no lockout here: who may try, and when, is the throttle
(`throttle.py`: a progressive delay per account and client address, limits
per address and per account), which an outsider cannot turn into a lockout.
`failed_attempts` counts the wrong passwords since the last sign-in or new
password, incremented in the database by one statement (atomic on
PostgreSQL as on SQLite, however many attempts run at once).

A password is set by its owner, never by an administrator: with a one-time
link or code (`links.py`); a new password ends every session of the
account (`sessions.py`). Callers own the transaction."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select, update

from . import sessions
from .tables import StaffAccountBase, StaffTables

HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
TOKEN_BYTES = 32


def check_password_policy(password: str) -> None:
    """Raise a ValueError naming the rule broken (never echoing the password)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password must be at most {MAX_PASSWORD_LENGTH} characters long")
    if not password.strip():
        raise ValueError("a password must not be only spaces")


def set_password(db: Session, tables: StaffTables, staff_id: str, password: str, now: datetime, *,
                 hasher: PasswordHasher | None = None) -> bool:
    """Give an account a new password (which also ends its sessions); False
    when there is no such account. A password that breaks the policy raises
    ValueError. (The set-password link is the way in for people; this is
    its last step, the development `accounts add --password`, and the tests' seed.)"""
    check_password_policy(password)
    row = db.get(tables.accounts, staff_id)
    if row is None:
        return False
    replace_password(db, tables, row, (hasher or HASHER).hash(password), now)
    return True


def replace_password(db: Session, tables: StaffTables, row: StaffAccountBase, password_hash: str,
                     now: datetime) -> None:
    """Store a new argon2 hash: the failure count cleared and every session of the account ended."""
    row.password_hash = password_hash
    row.failed_attempts, row.updated_at = 0, now
    db.add(row)
    sessions.end_all(db, tables, row.staff_id)


@functools.cache
def _decoy(hasher: PasswordHasher) -> str:
    """A hash with the hasher's parameters, verified when there is nothing real to verify."""
    return hasher.hash(secrets.token_urlsafe(TOKEN_BYTES))


def _verifies(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def stored_hash(db: Session, tables: StaffTables, staff_id: str) -> str | None:
    """The account's password hash; None when there is no such account or no password yet."""
    table = tables.accounts
    found: str | None = db.exec(select(table.password_hash).where(col(table.staff_id) == staff_id)).first()
    return found


@dataclass(frozen=True)
class Verdict:
    """What argon2 said: the password is right, and the new hash when the old one's parameters are outdated."""

    right: bool
    rehashed: str | None = None


def check(stored: str | None, password: str, *, hasher: PasswordHasher | None = None) -> Verdict:
    """Verify the password against the stored hash, or against the decoy
    when there is none (the same argon2 work). Blocking and CPU-bound: call
    it in a worker thread, with no database session open."""
    hasher = hasher or HASHER
    decoy = _decoy(hasher)  # made once, before the first verification, whichever path this is
    if stored is None:
        _verifies(hasher, decoy, password)
        return Verdict(False)
    if not _verifies(hasher, stored, password):
        return Verdict(False)
    return Verdict(True, hasher.hash(password) if hasher.check_needs_rehash(stored) else None)


def record_failure(db: Session, tables: StaffTables, staff_id: str, now: datetime) -> None:
    """Count a wrong password: one UPDATE, atomic however many run at once,
    changing no row for an unknown staff id or an account without a password."""
    table = tables.accounts
    db.exec(update(table)
            .where(col(table.staff_id) == staff_id, col(table.password_hash).is_not(None))
            .values(failed_attempts=col(table.failed_attempts) + 1, updated_at=now))


def record_success(db: Session, tables: StaffTables, staff_id: str, verified: str, rehashed: str | None,
                   now: datetime) -> StaffAccountBase | None:
    """The account, signed in: the failure count cleared (and the hash
    replaced when `rehashed`), provided the hash is still the one verified;
    None when the password was changed meanwhile (refused: what it was
    checked against is no longer the account's password)."""
    table = tables.accounts
    values: dict[str, object] = {"failed_attempts": 0, "updated_at": now}
    if rehashed is not None:
        values["password_hash"] = rehashed
    changed = db.exec(update(table)
                      .where(col(table.staff_id) == staff_id, col(table.password_hash) == verified)
                      .values(**values))
    if changed.rowcount != 1:
        return None
    return db.get(table, staff_id)
