"""Time-based one-time codes (RFC 6238, as authenticator apps make them:
SHA-1, 6 digits, 30-second steps), checked against a moment the caller
gives: a code of the step before, the step of, or the step after `now` is
taken (±1 step for clocks that drift), and never one of a step at or
before the last one taken, so a code is used once."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps either side of now
ISSUER = "Front Door"  # the default; a service names its pages (StaffPages.title)
_CODE = re.compile(r"^[0-9]{6}\Z")


def new_secret() -> str:
    """A fresh TOTP secret: base32, 160 random bits."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app takes (by QR code or by hand)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def normalised(code: str) -> str:
    """What was typed, without spaces (apps show "123 456")."""
    return re.sub(r"\s+", "", code)


def matching_step(secret: str, code: str, now: datetime, after: int | None = None) -> int | None:
    """The step whose code `code` is, within the window around `now` and
    later than `after` (the last step taken); None when there is none."""
    given = normalised(code)
    if not _CODE.match(given):
        return None
    current = step_at(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(code_at(secret, step), given):
            return step
    return None
