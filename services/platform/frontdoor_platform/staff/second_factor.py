"""A second factor: a TOTP secret in the staff member's authenticator app.

Enrolling: the page makes a secret and shows it once (and its otpauth://
URI); it waits, sealed, on the session (`hold`), and becomes the account's
(sealed under the current key) only when a first code from the app
confirms it (`confirm`). Each showing makes a new one, so a secret is never
shown twice. Signing in: a code of the step before, of, or after now, never
one of a step at or before the last taken (`check`: one conditional
UPDATE, so the same code used twice at once is taken once). Secrets are
sealed by the service's `Sealer` (notifications: its AES-GCM keys) under
`totp_context(staff_id)`; nothing here logs. Callers own the transaction;
the clock is theirs."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, or_, update

from . import totp
from .sessions import Staff
from .tables import StaffTables


class SealedSecret(Protocol):
    @property
    def ciphertext(self) -> str: ...

    @property
    def key_id(self) -> str: ...


class Sealer(Protocol):
    """Seals secrets at rest (AES-GCM or the like) under a context string; opens them with the key they name."""

    def seal(self, plaintext: str, context: str) -> SealedSecret: ...

    def open(self, key_id: str | None, ciphertext: str, context: str) -> str: ...


def totp_context(staff_id: str) -> str:
    """What a TOTP secret is sealed under: it opens for its own account only."""
    return f"totp:{staff_id}"


def hold(db: Session, tables: StaffTables, signed: Staff, keys: Sealer) -> str | None:
    """A new secret to enrol, kept sealed on the session; None when the session is gone."""
    stored = db.get(tables.sessions, signed.token_hash)
    if stored is None:
        return None
    secret = totp.new_secret()
    sealed = keys.seal(secret, totp_context(signed.staff_id))
    stored.enrol_secret, stored.enrol_key_id = sealed.ciphertext, sealed.key_id
    db.add(stored)
    return secret


def confirm(db: Session, tables: StaffTables, signed: Staff, code: str, now: datetime, keys: Sealer) -> bool:
    """The held secret becomes the account's second factor if `code` is one of its codes now (that step taken:
    the code is not taken again); False, changing nothing, otherwise."""
    stored = db.get(tables.sessions, signed.token_hash)
    if stored is None or stored.enrol_secret is None:
        return False
    secret = keys.open(stored.enrol_key_id, stored.enrol_secret, totp_context(signed.staff_id))
    step = totp.matching_step(secret, code, now)
    if step is None:
        return False
    sealed = keys.seal(secret, totp_context(signed.staff_id))
    table = tables.accounts
    changed = db.exec(update(table)
                      .where(col(table.staff_id) == signed.staff_id, col(table.account_id) == signed.account_id)
                      .values(totp_secret=sealed.ciphertext, totp_key_id=sealed.key_id, totp_last_step=step,
                              totp_enrolled_at=now, updated_at=now))
    if changed.rowcount != 1:
        return False
    stored.enrol_secret = stored.enrol_key_id = None
    db.add(stored)
    return True


def check(db: Session, tables: StaffTables, signed: Staff, code: str, now: datetime, keys: Sealer) -> bool:
    """Is `code` the account's code now, and not of a step already taken? If so its step is taken."""
    table = tables.accounts
    account = db.get(table, signed.staff_id)
    if account is None or account.account_id != signed.account_id or account.totp_secret is None:
        return False
    secret = keys.open(account.totp_key_id, account.totp_secret, totp_context(account.staff_id))
    step = totp.matching_step(secret, code, now, account.totp_last_step)
    if step is None:
        return False
    taken = db.exec(update(table)
                    .where(col(table.staff_id) == account.staff_id, col(table.account_id) == account.account_id,
                           or_(col(table.totp_last_step).is_(None), col(table.totp_last_step) < step))
                    .values(totp_last_step=step))
    return taken.rowcount == 1
