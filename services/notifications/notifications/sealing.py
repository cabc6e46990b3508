"""Secrets at rest, sealed: the webhook signing secrets and the key adults'
TOTP secrets are stored encrypted with AES-256-GCM (`cryptography`) under
a key from the settings, the key's id stored beside each ciphertext so the
key can rotate: `secrets_keys` maps key ids to keys (base64 of 32 bytes),
`secrets_key_id` names the one that seals; a row is opened with its own
row's key id, and `frontdoor-notifications secrets rekey` seals again
under the current key whatever an older key sealed.

Each ciphertext is bound to what it belongs to (the associated data:
`signing-secret:<recipient id>` here, `totp:<staff id>` by the kit's
`staff.second_factor.totp_context`), so a ciphertext copied onto another
row does not open. Stored as base64 of the 12-byte random nonce and the
ciphertext with its tag. Nothing here logs, and errors never hold a key,
a secret or a ciphertext.

The development key is published here, in the source: the service warns
about it in development and refuses it in production (the settings)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DEVELOPMENT_KEY_ID = "development"
DEVELOPMENT_KEY = "ZnJvbnRkb29yLWRldmVsb3BtZW50LW9ubHkta2V5ISE="  # 32 bytes, public: development only
KEYS_VARIABLE, KEY_ID_VARIABLE = "NOTIFICATIONS_SECRETS_KEYS", "NOTIFICATIONS_SECRETS_KEY_ID"
KEY_BYTES, NONCE_BYTES = 32, 12
KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class SealError(ValueError):
    """A sealed value that does not open: its key id is not configured, or it was altered or moved."""


def _key_bytes(key_id: str, encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"secrets_keys[{key_id}] must be base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"secrets_keys[{key_id}] must be {KEY_BYTES} bytes (AES-256), base64-encoded")
    return raw


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: str


class Keys:
    """The service's keys: seal under the current one, open with the row's."""

    def __init__(self, keys: Mapping[str, str], current: str):
        """Keys by id (base64); `current` seals. ValueError names the setting and the rule, never a key."""
        if not keys:
            raise ValueError("secrets_keys must hold at least one key")
        for key_id in keys:
            if not KEY_ID.match(key_id):
                raise ValueError("secrets_keys: each key id must be 1 to 32 letters, digits, '.', '_' or '-'")
        if current not in keys:
            raise ValueError("secrets_key_id must be one of the key ids in secrets_keys")
        self._ciphers = {key_id: AESGCM(_key_bytes(key_id, encoded)) for key_id, encoded in keys.items()}
        self.current = current
        self.development = {key_id for key_id, encoded in keys.items() if encoded == DEVELOPMENT_KEY}

    def __repr__(self) -> str:
        return f"Keys(ids={sorted(self._ciphers)}, current={self.current!r})"

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def seal(self, plaintext: str, context: str) -> Sealed:
        """Encrypt under the current key, bound to `context` (what the secret belongs to)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = self._ciphers[self.current].encrypt(nonce, plaintext.encode(), context.encode())
        return Sealed(self.current, base64.b64encode(nonce + body).decode())

    def open(self, key_id: str | None, ciphertext: str, context: str) -> str:
        """Decrypt with the row's key; SealError when that key is not configured or the value does not open."""
        cipher = self._ciphers.get(key_id) if key_id is not None else None
        if cipher is None:
            raise SealError("sealed under a key id that is not in secrets_keys")
        try:
            raw = base64.b64decode(ciphertext, validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
            raise SealError("a sealed value does not open with its key (altered, or moved from another row)") from None


def signing_context(recipient_id: str) -> str:
    """What a webhook signing secret's ciphertext is bound to."""
    return f"signing-secret:{recipient_id}"


def development_keys() -> dict[str, str]:
    return {DEVELOPMENT_KEY_ID: DEVELOPMENT_KEY}


def keys_from_environment() -> Keys:
    """The keys the environment gives the service (what `serve` and the CLI read: NOTIFICATIONS_SECRETS_KEYS, a
    JSON object of key id to base64 key, and NOTIFICATIONS_SECRETS_KEY_ID; the development key when unset), for
    the code that is handed no settings: migration 0009 and the delivery loop's signing."""
    return _keys_of(os.environ.get(KEYS_VARIABLE), os.environ.get(KEY_ID_VARIABLE, DEVELOPMENT_KEY_ID))


@functools.lru_cache(maxsize=4)
def _keys_of(raw: str | None, current: str) -> Keys:
    if raw is None:
        return Keys(development_keys(), current)
    try:
        given = json.loads(raw)
    except ValueError:
        given = None
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise ValueError("secrets_keys must be a JSON object of key id to base64 key")
    return Keys(given, current)
