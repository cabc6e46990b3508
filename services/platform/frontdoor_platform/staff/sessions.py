"""Staff sessions, enforced on the server at every request.

A session is a random token in the browser's cookie (no Max-Age: it dies
with the browser); only its SHA-256 is stored, with its CSRF token, its
stage and its account. It is refused, whatever the cookie says, once
`session_hours` have passed since it began (absolute), once
`session_idle_minutes` have passed since its last request (idle: the last
request is written at most every `touch_every`, so a session may end up to
that much early, never late), once its account is removed (a session names
the account, `account_id`, so a staff id added back never revives one), and
once the password changes (deleted).

A sign-in with a second factor is two steps: the right password starts a
session at stage `code` (a TOTP code is next) or `enrol` (a second factor
is required and not yet enrolled: enrolling is next), good only for those
steps, for `PENDING` at most and `CODE_TRIES` wrong codes; done, it is
replaced by a `signed_in` session with a new token (`upgrade`). Callers own
the transaction; the clock is theirs."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, delete, or_, update

from .config import StaffConfig
from .tables import StaffAccountBase, StaffTables

TOKEN_BYTES = 32
PENDING = timedelta(minutes=10)  # a sign-in half done is finished within this, or started again
CODE_TRIES = 5  # wrong codes a sign-in half done may take; then the password again
TOUCH_AT_MOST = timedelta(seconds=60)


class Stage(StrEnum):
    SIGNED_IN = "signed_in"
    CODE = "code"  # the password was right; a TOTP code is next
    ENROL = "enrol"  # the password was right; a second factor is required: enrolling is next


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def touch_every(config: StaffConfig) -> timedelta:
    """How stale `last_seen_at` may be before a request writes it again."""
    return min(TOUCH_AT_MOST, config.idle / 4)


@dataclass(frozen=True)
class Staff:
    """Who is signed in (a live session): the account, its roles and scope, the session's CSRF token."""

    account_id: uuid.UUID
    staff_id: str
    roles: frozenset[str]
    scope: str | None
    csrf_token: str
    stage: Stage = Stage.SIGNED_IN
    token_hash: str = ""
    second_factor: bool = False  # the account has a second factor enrolled
    touch: bool = False  # the request should write `last_seen_at`


def _staff(account: StaffAccountBase, csrf_token: str, stage: Stage, hashed: str, touch: bool = False) -> Staff:
    return Staff(account.account_id, account.staff_id, account.staff_roles(), account.staff_scope(), csrf_token,
                 stage, hashed, account.totp_secret is not None, touch)


def start(db: Session, tables: StaffTables, account: StaffAccountBase, stage: Stage, now: datetime,
          config: StaffConfig) -> tuple[str, Staff]:
    """A new session for an account whose password was just right: (the cookie's token, the session). Its
    sessions that have ended are deleted meanwhile."""
    table = tables.sessions
    token, csrf_token = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
    db.exec(delete(table).where(col(table.staff_id) == account.staff_id,
                                or_(col(table.expires_at) <= now, col(table.last_seen_at) <= now - config.idle)))
    absolute = now + config.lifetime
    expires = absolute if stage is Stage.SIGNED_IN else min(absolute, now + PENDING)
    hashed = token_hash(token)
    db.add(table(token_hash=hashed, staff_id=account.staff_id, account_id=account.account_id, stage=stage,
                 csrf_token=csrf_token, created_at=now, last_seen_at=now, expires_at=expires))
    return token, _staff(account, csrf_token, stage, hashed)


def current(db: Session, tables: StaffTables, token: str | None, now: datetime, config: StaffConfig) -> Staff | None:
    """The live session the cookie's token names, or None: none, past its absolute or idle timeout, or its
    account gone (or gone and added back: another account)."""
    if not token:
        return None
    stored = db.get(tables.sessions, token_hash(token))
    if stored is None or stored.expires_at <= now or stored.last_seen_at + config.idle <= now:
        return None
    account = db.get(tables.accounts, stored.staff_id)
    if account is None or account.account_id != stored.account_id:
        return None
    return _staff(account, stored.csrf_token, Stage(stored.stage), stored.token_hash,
                  touch=now - stored.last_seen_at >= touch_every(config))


def touch(db: Session, tables: StaffTables, hashed: str, now: datetime) -> None:
    """The session was used now (the idle timeout counts from here)."""
    table = tables.sessions
    db.exec(update(table).where(col(table.token_hash) == hashed, col(table.last_seen_at) < now)
            .values(last_seen_at=now))


def upgrade(db: Session, tables: StaffTables, signed: Staff, now: datetime,
            config: StaffConfig) -> tuple[str, Staff] | None:
    """A sign-in half done, completed: its session replaced by a signed-in one with a new token; None when it
    is gone meanwhile (or its account is)."""
    table = tables.sessions
    gone = db.exec(delete(table).where(col(table.token_hash) == signed.token_hash))
    account = db.get(tables.accounts, signed.staff_id)
    if gone.rowcount != 1 or account is None or account.account_id != signed.account_id:
        return None
    return start(db, tables, account, Stage.SIGNED_IN, now, config)


def wrong_code(db: Session, tables: StaffTables, hashed: str) -> bool:
    """Count a wrong code against a sign-in half done: True while it may try again, False once it has had
    CODE_TRIES (then it is deleted: the password again)."""
    stored = db.get(tables.sessions, hashed)
    if stored is None:
        return False
    stored.code_failures += 1
    if stored.stage == Stage.SIGNED_IN or stored.code_failures < CODE_TRIES:
        db.add(stored)
        return True
    db.delete(stored)
    return False


def end(db: Session, tables: StaffTables, token: str | None) -> None:
    """Sign out: the session is deleted (its cookie no longer names anything)."""
    if token:
        db.exec(delete(tables.sessions).where(col(tables.sessions.token_hash) == token_hash(token)))


def end_all(db: Session, tables: StaffTables, staff_id: str) -> None:
    """Every session of the account (a new password, the account removed)."""
    db.exec(delete(tables.sessions).where(col(tables.sessions.staff_id) == staff_id))
