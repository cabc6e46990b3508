"""One-time set-password links: how a key adult gets a password the admin
never knows. The admin asks the API for one (`issue`) and passes it on:
the link, or its code read out over the phone. The key adult opens the
page's set-password form, gives their staff id, the code and a new
password; the code is used up by that (`redeem`: one DELETE, so two
redemptions at once cannot both succeed), and is useless after
`password_link_minutes` or once another is issued. Only its SHA-256 is
kept, and the account it was issued for (`account_id`): a key adult
removed and added back cannot use an earlier one.

A code is 20 characters from a 32-letter alphabet without look-alikes
(100 random bits: not guessable, however many tries the throttle allowed),
shown in groups of five; spaces, dashes and case do not matter when it is
typed. Callers own the transaction."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, or_

from ..models import KeyAdultRow, PasswordLinkRow
from . import accounts

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH, GROUP = 20, 5
MAX_TYPED = 64  # a typed code longer than this is not one


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normalised(code: str) -> str:
    return re.sub(r"[\s-]+", "", code[:MAX_TYPED]).upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(normalised(code).encode()).hexdigest()


def issue(db: Session, staff_id: str, now: datetime, lifetime: timedelta) -> tuple[str, datetime] | None:
    """A new code for the key adult, and when it stops working; None when there is no such key adult. Any
    earlier code of theirs stops working now, and every expired code is deleted."""
    adult = db.get(KeyAdultRow, staff_id)
    if adult is None:
        return None
    db.exec(delete(PasswordLinkRow).where(or_(col(PasswordLinkRow.staff_id) == staff_id,
                                              col(PasswordLinkRow.expires_at) <= now)))
    code, expires = new_code(), now + lifetime
    db.add(PasswordLinkRow(token_hash=code_hash(code), staff_id=staff_id, account_id=adult.account_id,
                           created_at=now, expires_at=expires))
    return code, expires


def _live(db: Session, staff_id: str, code: str, now: datetime) -> PasswordLinkRow | None:
    found = db.get(PasswordLinkRow, code_hash(code))
    if found is None or found.staff_id != staff_id or found.expires_at <= now:
        return None
    adult = db.get(KeyAdultRow, staff_id)
    return found if adult is not None and adult.account_id == found.account_id else None


def usable(db: Session, staff_id: str, code: str, now: datetime) -> bool:
    """Would `redeem` take this code for this staff id now? (A read: checked before argon2 runs.)"""
    return _live(db, staff_id, code, now) is not None


def redeem(db: Session, staff_id: str, code: str, password_hash: str, now: datetime) -> bool:
    """Use the code up and give the key adult the new password (argon2 hash made by the caller, outside any
    transaction); every session of the account ends. False, changing nothing, when the code is not usable."""
    found = _live(db, staff_id, code, now)
    if found is None:
        return False
    taken = db.exec(delete(PasswordLinkRow).where(col(PasswordLinkRow.token_hash) == found.token_hash,
                                                  col(PasswordLinkRow.expires_at) > now))
    adult = db.get(KeyAdultRow, staff_id)
    if taken.rowcount != 1 or adult is None:
        return False
    accounts.replace_password(db, adult, password_hash, now)
    return True


def purge_expired(db: Session, now: datetime) -> None:
    db.exec(delete(PasswordLinkRow).where(col(PasswordLinkRow.expires_at) <= now))
