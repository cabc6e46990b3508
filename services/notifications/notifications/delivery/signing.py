"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each webhook carries `webhook-id` (the notification id: the same on every
retry, so a receiver dedupes on it), `webhook-timestamp` (unix seconds) and
`webhook-signature`: a space-separated `v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}` for EVERY secret of the recipient valid now. A
rotation gives the recipient a new secret while the previous one keeps
signing until it expires (`secret_overlap_hours`), so a receiver that knows
either one verifies, and the switch needs no coordinated moment.

The secrets are stored sealed (sealing.py) and opened here, just before
signing; one that does not open (its key id not configured, or altered)
is left out and logged by its row id and key id only, never a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from ..directory import signing_secrets
from ..sealing import Keys, SealError, keys_from_environment, signing_context

log = logging.getLogger("notifications.delivery")

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_`."""
    encoded = secret.removeprefix(PREFIX)
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    if not key:
        raise ValueError("empty signing secret")
    return key


def valid_secrets(session: Session, recipient_id: str, now: datetime, keys: Keys | None = None) -> list[str]:
    """The recipient's secrets valid at `now` (no expiry, or expiring after it), newest first, opened with
    `keys` (the service's settings' `sealing_keys`; when not given, the keys the environment names, as `serve`
    reads them)."""
    opener = keys or keys_from_environment()
    opened = []
    for row in signing_secrets(session, recipient_id, now):
        try:
            opened.append(opener.open(row.key_id, row.secret, signing_context(row.recipient_id)))
        except SealError as refused:
            log.warning("a signing secret does not open: left out", extra={
                "secret_id": row.secret_id, "key_id": row.key_id, "reason": str(refused)})
    return opened


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_now: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per valid secret.
    Never unsigned: a recipient with no valid secret is not sent to (the
    sender reports it as having no usable channel)."""
    if not secrets_now:
        raise ValueError("no valid signing secret")
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_now)}
