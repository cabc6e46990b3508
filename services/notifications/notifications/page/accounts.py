"""Key adults' page accounts and sessions.

Passwords are kept as argon2id hashes (argon2-cffi's defaults; a hash made
with other parameters is replaced at the next sign-in). After
`lockout_after_failures` wrong passwords in a row an account is locked for
`lockout_minutes`: meanwhile even the right password is refused. An unknown
staff id, an account without a password and a locked account cost the same
argon2 verification as a real attempt, so the time taken does not tell
whether an account exists.

A session is a random token in the browser's cookie; only its SHA-256 is
stored, with its expiry and its CSRF token. Callers own the transaction."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete

from ..models import KeyAdultRow, PageSessionRow
from ..settings import Settings

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


def set_password(session: Session, staff_id: str, password: str, now: datetime, *,
                 hasher: PasswordHasher = HASHER) -> bool:
    """Give a key adult a new password (which also unlocks the account and
    ends its sessions); False when there is no such key adult. A password
    that breaks the policy raises ValueError."""
    check_password_policy(password)
    row = session.get(KeyAdultRow, staff_id)
    if row is None:
        return False
    row.password_hash = hasher.hash(password)
    row.failed_attempts, row.locked_until, row.updated_at = 0, None, now
    session.add(row)
    session.exec(delete(PageSessionRow).where(col(PageSessionRow.staff_id) == staff_id))
    return True


@functools.cache
def _decoy(hasher: PasswordHasher) -> str:
    """A hash with the hasher's parameters, verified when there is nothing real to verify."""
    return hasher.hash(secrets.token_urlsafe(TOKEN_BYTES))


def _verifies(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _locked(row: KeyAdultRow, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > now


def sign_in(session: Session, staff_id: str, password: str, now: datetime, settings: Settings, *,
            hasher: PasswordHasher = HASHER) -> KeyAdultRow | None:
    """The key adult, when the staff id and password are right and the
    account is not locked; None otherwise (whichever it was: the page says
    the same). A wrong password counts towards the lockout."""
    row = session.get(KeyAdultRow, staff_id) if staff_id else None
    if row is None or row.password_hash is None or _locked(row, now):
        _verifies(hasher, _decoy(hasher), password)
        return None
    if not _verifies(hasher, row.password_hash, password):
        row.failed_attempts += 1
        if row.failed_attempts >= settings.lockout_after_failures:
            row.failed_attempts = 0
            row.locked_until = now + timedelta(minutes=settings.lockout_minutes)
        row.updated_at = now
        session.add(row)
        return None
    if hasher.check_needs_rehash(row.password_hash):
        row.password_hash = hasher.hash(password)
    if row.failed_attempts or row.locked_until is not None:
        row.failed_attempts, row.locked_until = 0, None
    row.updated_at = now
    session.add(row)
    return row


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, at which school, and the session's CSRF token."""

    staff_id: str
    school_urn: str
    csrf_token: str


def start_session(session: Session, row: KeyAdultRow, now: datetime, settings: Settings) -> tuple[str, SignedIn]:
    """A new session for a key adult who just signed in: (the cookie's token, the session)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    csrf_token = secrets.token_urlsafe(TOKEN_BYTES)
    session.exec(delete(PageSessionRow).where(col(PageSessionRow.staff_id) == row.staff_id,
                                                 col(PageSessionRow.expires_at) <= now))
    session.add(PageSessionRow(token_hash=token_hash(token), staff_id=row.staff_id, csrf_token=csrf_token,
                               created_at=now, expires_at=now + timedelta(hours=settings.session_hours)))
    return token, SignedIn(row.staff_id, row.school_urn, csrf_token)


def session_of(session: Session, token: str | None, now: datetime) -> SignedIn | None:
    """The live session the cookie's token names, or None (none, expired, or its key adult gone)."""
    if not token:
        return None
    stored = session.get(PageSessionRow, token_hash(token))
    if stored is None or stored.expires_at <= now:
        return None
    adult = session.get(KeyAdultRow, stored.staff_id)
    if adult is None:
        return None
    return SignedIn(adult.staff_id, adult.school_urn, stored.csrf_token)


def end_session(session: Session, token: str | None) -> None:
    """Sign out: the session is deleted (its cookie no longer names anything)."""
    if token:
        session.exec(delete(PageSessionRow).where(col(PageSessionRow.token_hash) == token_hash(token)))
