"""Each service's wrapping key: the AES-256 key with which the contacts
service wraps a person's data key for it (`contacts.person-keys.v1`) and
seals its share of a privacy request (`sealed_for`).

A service reads its own from `<PREFIX>WRAPPING_KEY` (base64 of 32 bytes)
and `<PREFIX>WRAPPING_KEY_ID` (a short id, so the key can rotate). The
contacts service also needs every other service's, as a JSON object in
`CONTACTS_WRAPPING_KEYS`: `{"notifications": {"id": "...", "key": "..."}}`.

In development, with nothing set, each service's key is derived from its
name by a rule published here: the stack and tests need no set-up, and
nothing sealed under it is secret. Production refuses the development
keys (the settings' validation names the setting, never a key)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from frontdoor_contracts.personal import KEY_BYTES
from frontdoor_contracts.topics import SERVICES

DEVELOPMENT_ID = "development"


@dataclass(frozen=True)
class WrappingKey:
    key_id: str
    key: bytes

    def __repr__(self) -> str:  # never the key
        return f"WrappingKey({self.key_id!r})"


def development_key(service: str) -> WrappingKey:
    """The published development key of `service` (refused in production)."""
    seed = f"frontdoor-development-wrapping-key/{service}".encode()
    return WrappingKey(DEVELOPMENT_ID, hashlib.sha256(seed).digest())


def parse_key(key_id: str, encoded: str, setting: str) -> WrappingKey:
    """A configured key, or ValueError naming `setting` (never the value)."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{setting} must be base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{setting} must be {KEY_BYTES} bytes (AES-256), base64-encoded")
    if not key_id or len(key_id) > 32 or not all(c.isalnum() or c in "._-" for c in key_id):
        raise ValueError(f"{setting}: the key id is 1-32 letters, digits, '.', '_' or '-'")
    return WrappingKey(key_id, raw)


def own_key(service: str, encoded: str | None, key_id: str, production: bool, setting: str) -> WrappingKey:
    if encoded is None:
        if production:
            raise ValueError(f"{setting} must be set in production (the development key is published)")
        return development_key(service)
    return parse_key(key_id, encoded, setting)


def others_keys(text: str | None, production: bool, setting: str = "CONTACTS_WRAPPING_KEYS",
                services: tuple[str, ...] = SERVICES) -> Mapping[str, WrappingKey]:
    """Every service's wrapping key, as the contacts service needs them: from `text` (JSON), or the
    development keys. Every service must have one."""
    if text is None:
        if production:
            raise ValueError(f"{setting} must be set in production (the development keys are published)")
        return {service: development_key(service) for service in services}
    try:
        document = json.loads(text)
    except ValueError:
        raise ValueError(f"{setting} must be a JSON object of service: {{id, key}}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{setting} must be a JSON object of service: {{id, key}}")
    keys: dict[str, WrappingKey] = {}
    for service in services:
        entry = document.get(service)
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not isinstance(entry.get("key"), str):
            raise ValueError(f"{setting}.{service} must be {{\"id\": ..., \"key\": ...}}")
        keys[service] = parse_key(entry["id"], entry["key"], f"{setting}.{service}")
    if production and any(key.key == development_key(name).key for name, key in keys.items()):
        raise ValueError(f"{setting}: a development key is refused in production")
    return keys
