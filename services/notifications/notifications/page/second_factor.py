"""A key adult's second factor: a TOTP secret in their authenticator app.

Enrolling: the page makes a secret and shows it once (and its otpauth://
URI); it waits, sealed, on the key adult's session (`hold`), and becomes
theirs (sealed under the current key, on their account) only when a first
code from the app confirms it (`confirm`). Each showing makes a new one, so
a secret is never shown twice. Signing in: a code of the step before, of,
or after now, never one of a step at or before the last taken (`check`:
one conditional UPDATE, so the same code used twice at once is taken
once). Secrets are sealed with `sealing.totp_context(staff_id)`; nothing
here logs. Callers own the transaction; the clock is theirs."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, or_, update

from ..domain import totp
from ..models import KeyAdultRow, PageSessionRow
from ..sealing import Keys, totp_context
from .sessions import SignedIn


def hold(db: Session, signed: SignedIn, keys: Keys) -> str | None:
    """A new secret for the key adult to enrol, kept sealed on their session; None when the session is gone."""
    stored = db.get(PageSessionRow, signed.token_hash)
    if stored is None:
        return None
    secret = totp.new_secret()
    sealed = keys.seal(secret, totp_context(signed.staff_id))
    stored.enrol_secret, stored.enrol_key_id = sealed.ciphertext, sealed.key_id
    db.add(stored)
    return secret


def confirm(db: Session, signed: SignedIn, code: str, now: datetime, keys: Keys) -> bool:
    """The held secret becomes the key adult's second factor if `code` is one of its codes now (that step
    taken: the code is not taken again); False, changing nothing, otherwise."""
    stored = db.get(PageSessionRow, signed.token_hash)
    if stored is None or stored.enrol_secret is None:
        return False
    secret = keys.open(stored.enrol_key_id, stored.enrol_secret, totp_context(signed.staff_id))
    step = totp.matching_step(secret, code, now)
    if step is None:
        return False
    sealed = keys.seal(secret, totp_context(signed.staff_id))
    changed = db.exec(update(KeyAdultRow)
                      .where(col(KeyAdultRow.staff_id) == signed.staff_id,
                             col(KeyAdultRow.account_id) == signed.account_id)
                      .values(totp_secret=sealed.ciphertext, totp_key_id=sealed.key_id, totp_last_step=step,
                              totp_enrolled_at=now, updated_at=now))
    if changed.rowcount != 1:
        return False
    stored.enrol_secret = stored.enrol_key_id = None
    db.add(stored)
    return True


def check(db: Session, signed: SignedIn, code: str, now: datetime, keys: Keys) -> bool:
    """Is `code` the key adult's code now, and not of a step already taken? If so its step is taken."""
    adult = db.get(KeyAdultRow, signed.staff_id)
    if adult is None or adult.account_id != signed.account_id or adult.totp_secret is None:
        return False
    secret = keys.open(adult.totp_key_id, adult.totp_secret, totp_context(adult.staff_id))
    step = totp.matching_step(secret, code, now, adult.totp_last_step)
    if step is None:
        return False
    taken = db.exec(update(KeyAdultRow)
                    .where(col(KeyAdultRow.staff_id) == adult.staff_id,
                           col(KeyAdultRow.account_id) == adult.account_id,
                           or_(col(KeyAdultRow.totp_last_step).is_(None), col(KeyAdultRow.totp_last_step) < step))
                    .values(totp_last_step=step))
    return taken.rowcount == 1
