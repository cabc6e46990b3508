"""One-time set-password links: how staff get a password nobody else ever
knows. An administrator issues one (`issue`: the service's CLI `accounts
add`, or its admin API) and passes it on: the link, or its code read out
over the phone. Its owner opens the set-password form, gives their staff
id, the code and a new password; the code is used up by that (`redeem`:
one DELETE, so two redemptions at once cannot both succeed), and is useless
after `password_link_minutes` or once another is issued. Only its SHA-256
is kept, and the account it was issued for (`account_id`): an account
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

from . import accounts
from .tables import StaffLinkFields, StaffTables

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


def issue(db: Session, tables: StaffTables, staff_id: str, now: datetime,
          lifetime: timedelta) -> tuple[str, datetime] | None:
    """A new code for the account, and when it stops working; None when there is no such account. Any earlier
    code of theirs stops working now, and every expired code is deleted."""
    account = db.get(tables.accounts, staff_id)
    if account is None:
        return None
    table = tables.links
    db.exec(delete(table).where(or_(col(table.staff_id) == staff_id, col(table.expires_at) <= now)))
    code, expires = new_code(), now + lifetime
    db.add(table(token_hash=code_hash(code), staff_id=staff_id, account_id=account.account_id, created_at=now,
                 expires_at=expires))
    return code, expires


def _live(db: Session, tables: StaffTables, staff_id: str, code: str, now: datetime) -> StaffLinkFields | None:
    found = db.get(tables.links, code_hash(code))
    if found is None or found.staff_id != staff_id or found.expires_at <= now:
        return None
    account = db.get(tables.accounts, staff_id)
    return found if account is not None and account.account_id == found.account_id else None


def usable(db: Session, tables: StaffTables, staff_id: str, code: str, now: datetime) -> bool:
    """Would `redeem` take this code for this staff id now? (A read: checked before argon2 runs.)"""
    return _live(db, tables, staff_id, code, now) is not None


def redeem(db: Session, tables: StaffTables, staff_id: str, code: str, password_hash: str, now: datetime) -> bool:
    """Use the code up and give the account the new password (argon2 hash made by the caller, outside any
    transaction); every session of the account ends. False, changing nothing, when the code is not usable."""
    found = _live(db, tables, staff_id, code, now)
    if found is None:
        return False
    table = tables.links
    taken = db.exec(delete(table).where(col(table.token_hash) == found.token_hash, col(table.expires_at) > now))
    account = db.get(tables.accounts, staff_id)
    if taken.rowcount != 1 or account is None:
        return False
    accounts.replace_password(db, tables, account, password_hash, now)
    return True


def forget(db: Session, tables: StaffTables, staff_id: str) -> None:
    """Every link of the account (the account removed)."""
    db.exec(delete(tables.links).where(col(tables.links.staff_id) == staff_id))


def purge_expired(db: Session, tables: StaffTables, now: datetime) -> None:
    db.exec(delete(tables.links).where(col(tables.links.expires_at) <= now))
