"""Key adults' page sessions, enforced on the server at every request.

A session is a random token in the browser's cookie (no Max-Age: it dies
with the browser); only its SHA-256 is stored, with its CSRF token, its
stage and its account. It is refused, whatever the cookie says, once
`session_hours` have passed since it began (absolute), once
`session_idle_minutes` have passed since its last request (idle: the last
request is written at most every `touch_every`, so a session may end up to
that much early, never late), once its key adult is removed (sessions are
deleted then, and a session names the account, `account_id`, so a staff id
added back never revives one), and once the password changes (deleted).

A sign-in with a second factor is two steps: the right password starts a
session at stage `code` (a TOTP code is next) or `enrol` (the school
requires a second factor the key adult has not enrolled: enrolling is
next), good only for those steps, for `PENDING` at most and `CODE_TRIES`
wrong codes; done, it is replaced by a `signed_in` session with a new
token (`upgrade`). Callers own the transaction; the clock is theirs."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, delete, or_, update

from ..models import KeyAdultRow, PageSessionRow
from ..settings import Settings

TOKEN_BYTES = 32
PENDING = timedelta(minutes=10)  # a sign-in half done is finished within this, or started again
CODE_TRIES = 5  # wrong codes a sign-in half done may take; then the password again
TOUCH_AT_MOST = timedelta(seconds=60)


class Stage(StrEnum):
    SIGNED_IN = "signed_in"
    CODE = "code"  # the password was right; a TOTP code is next
    ENROL = "enrol"  # the password was right; the school requires a second factor: enrolling is next


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


def touch_every(settings: Settings) -> timedelta:
    """How stale `last_seen_at` may be before a request writes it again."""
    return min(TOUCH_AT_MOST, idle(settings) / 4)


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, at which school, its CSRF token and stage."""

    staff_id: str
    school_urn: str
    csrf_token: str
    stage: Stage = Stage.SIGNED_IN
    account_id: uuid.UUID | None = None
    token_hash: str = ""
    enrolled: bool = False  # the key adult has a second factor
    touch: bool = False  # the request should write `last_seen_at`


def start(db: Session, adult: KeyAdultRow, stage: Stage, now: datetime, settings: Settings) -> tuple[str, SignedIn]:
    """A new session for a key adult whose password was just right: (the cookie's token, the session). Their
    sessions that have ended are deleted meanwhile."""
    token, csrf_token = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
    db.exec(delete(PageSessionRow).where(col(PageSessionRow.staff_id) == adult.staff_id,
                                         or_(col(PageSessionRow.expires_at) <= now,
                                             col(PageSessionRow.last_seen_at) <= now - idle(settings))))
    absolute = now + timedelta(hours=settings.session_hours)
    expires = absolute if stage is Stage.SIGNED_IN else min(absolute, now + PENDING)
    hashed = token_hash(token)
    db.add(PageSessionRow(token_hash=hashed, staff_id=adult.staff_id, account_id=adult.account_id, stage=stage,
                          csrf_token=csrf_token, created_at=now, last_seen_at=now, expires_at=expires))
    return token, SignedIn(adult.staff_id, adult.school_urn, csrf_token, stage, adult.account_id, hashed,
                           adult.totp_secret is not None)


def current(db: Session, token: str | None, now: datetime, settings: Settings) -> SignedIn | None:
    """The live session the cookie's token names, or None: none, past its absolute or idle timeout, or its
    key adult gone (or gone and added back: another account)."""
    if not token:
        return None
    stored = db.get(PageSessionRow, token_hash(token))
    if stored is None or stored.expires_at <= now or stored.last_seen_at + idle(settings) <= now:
        return None
    adult = db.get(KeyAdultRow, stored.staff_id)
    if adult is None or adult.account_id != stored.account_id:
        return None
    return SignedIn(adult.staff_id, adult.school_urn, stored.csrf_token, Stage(stored.stage), adult.account_id,
                    stored.token_hash, adult.totp_secret is not None,
                    touch=now - stored.last_seen_at >= touch_every(settings))


def touch(db: Session, hashed: str, now: datetime) -> None:
    """The session was used now (the idle timeout counts from here)."""
    db.exec(update(PageSessionRow).where(col(PageSessionRow.token_hash) == hashed,
                                         col(PageSessionRow.last_seen_at) < now).values(last_seen_at=now))


def upgrade(db: Session, signed: SignedIn, now: datetime, settings: Settings) -> tuple[str, SignedIn] | None:
    """A sign-in half done, completed: its session replaced by a signed-in one with a new token; None when it
    is gone meanwhile (or its key adult is)."""
    gone = db.exec(delete(PageSessionRow).where(col(PageSessionRow.token_hash) == signed.token_hash))
    adult = db.get(KeyAdultRow, signed.staff_id)
    if gone.rowcount != 1 or adult is None or adult.account_id != signed.account_id:
        return None
    return start(db, adult, Stage.SIGNED_IN, now, settings)


def wrong_code(db: Session, hashed: str) -> bool:
    """Count a wrong code against a sign-in half done: True while it may try again, False once it has had
    CODE_TRIES (then it is deleted: the password again)."""
    stored = db.get(PageSessionRow, hashed)
    if stored is None:
        return False
    stored.code_failures += 1
    if stored.stage == Stage.SIGNED_IN or stored.code_failures < CODE_TRIES:
        db.add(stored)
        return True
    db.delete(stored)
    return False


def end(db: Session, token: str | None) -> None:
    """Sign out: the session is deleted (its cookie no longer names anything)."""
    if token:
        db.exec(delete(PageSessionRow).where(col(PageSessionRow.token_hash) == token_hash(token)))


def end_all(db: Session, staff_id: str) -> None:
    """Every session of the key adult (a new password)."""
    db.exec(delete(PageSessionRow).where(col(PageSessionRow.staff_id) == staff_id))
