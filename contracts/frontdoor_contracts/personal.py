"""Personal fields on the wire, sealed with the person's own key, so that
erasing a person reaches every copy of every record about them on every
topic at once (crypto-shredding).

- **A person's data key** (`new_data_key`: 32 random bytes) is made and kept
  by the contacts service, which owns the people index. Personal fields
  (names, dates of birth, identifiers, addresses, free text) travel as one
  `Sealed` value: AES-256-GCM under that key, bound to where it belongs
  (`context`: the event type and the ids it sits under), so a sealed value
  copied into another record does not open.
- **Services that must read personal fields** get the key from the
  compacted topic `contacts.person-keys.v1` (`PersonKeyIssued`, keyed by the
  person's id), wrapped for each such service with that service's own key
  (`wrap_key`): only a service holding its wrapping key can read it.
- **Erasing a person** is a tombstone on that topic (a null value under the
  person's id) and the key deleted from the contacts database: every sealed
  value about them becomes unreadable, whatever its topic's retention, and
  compaction removes the key record itself. `open_sealed(None, ...)` is
  how a consumer reads a record whose key is gone: `None`, the personal
  fields erased, never a crash.
- **Privacy answers** (a service's part of a subject access export) are
  sealed to the requester alone (`seal_to`: X25519 to the request's one-off
  public key, HKDF-SHA256, AES-256-GCM): once the command that asked has
  its answers, nobody can read them on the reply topic.

Errors never hold a key, a plaintext or a ciphertext."""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import AwareDatetime, Field

from .envelope import EventData

KEY_BYTES, NONCE_BYTES = 32, 12
BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
MAX_SEALED_CHARS = 20_000  # base64 of a sealed value: names, dates and identifiers, with room


class SealBroken(ValueError):
    """A sealed value that does not open with the key it names: altered, moved, or under another key."""


class Sealed(EventData):
    """Personal fields, sealed with the data key of the person `key_id`."""

    key_id: uuid.UUID = Field(description="The person whose data key seals this (the person's id)")
    nonce: str = Field(min_length=16, max_length=16, pattern=BASE64, description="base64 of 12 random bytes")
    ciphertext: str = Field(min_length=24, max_length=MAX_SEALED_CHARS, pattern=BASE64,
                            description="base64 of the AES-256-GCM ciphertext and its tag")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SealBroken("not base64") from None


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a key is {KEY_BYTES} bytes (AES-256)")


def seal(key: bytes, key_id: uuid.UUID, fields: Mapping[str, Any], context: str) -> Sealed:
    """`fields` (JSON: str, int, bool, None, lists and dicts of them; dates as ISO text) sealed under the
    person's `key`, bound to `context` (e.g. `da-incident/<contact_id>/<child_id>`)."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(dict(fields), separators=(",", ":"), sort_keys=True, default=str).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, f"{context}|{key_id}".encode())
    return Sealed(key_id=key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def open_sealed(key: bytes | None, sealed: Sealed, context: str) -> dict[str, Any] | None:
    """The personal fields, or None when the person's key is gone (erased). A value that does not open
    with its key raises SealBroken (the record's fault)."""
    if key is None:
        return None
    _check_key(key)
    try:
        plaintext = AESGCM(key).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext),
                                        f"{context}|{sealed.key_id}".encode())
        fields = json.loads(plaintext)
    except (InvalidTag, ValueError):
        raise SealBroken("the sealed value does not open with its key") from None
    if not isinstance(fields, dict):
        raise SealBroken("the sealed value is not an object")
    return fields


# -- the person-keys topic -------------------------------------------------

class WrappedKey(EventData):
    """A person's data key, sealed with one reading service's wrapping key."""

    service_key_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$",
                                description="Which of the service's wrapping keys wrapped it (its id)")
    nonce: str = Field(min_length=16, max_length=16, pattern=BASE64)
    ciphertext: str = Field(min_length=24, max_length=200, pattern=BASE64)


class PersonKeyIssued(EventData):
    """contacts.person-keys.v1 (compacted, keyed by `person_id`): a person's data key for the services that
    read personal fields. A null value under the person's id (a tombstone) means the person was erased:
    drop the key."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.person-key-issued.v1"

    person_id: uuid.UUID
    wrapped: dict[str, WrappedKey] = Field(description="The key, wrapped for each reading service (by name)")
    issued_at: AwareDatetime


def _wrap_context(service: str, person_id: uuid.UUID) -> bytes:
    return f"person-key|{service}|{person_id}".encode()


def wrap_key(service: str, service_key_id: str, service_key: bytes, person_id: uuid.UUID,
             data_key: bytes) -> WrappedKey:
    _check_key(service_key)
    _check_key(data_key)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(service_key).encrypt(nonce, data_key, _wrap_context(service, person_id))
    return WrappedKey(service_key_id=service_key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def unwrap_key(service: str, service_key: bytes, person_id: uuid.UUID, wrapped: WrappedKey) -> bytes:
    _check_key(service_key)
    try:
        key = AESGCM(service_key).decrypt(_unb64(wrapped.nonce), _unb64(wrapped.ciphertext),
                                          _wrap_context(service, person_id))
    except InvalidTag:
        raise SealBroken("the wrapped key does not open with this service's key") from None
    if len(key) != KEY_BYTES:
        raise SealBroken("the wrapped key is not a data key")
    return key


# -- answers sealed to the requester ----------------------------------------

def new_reply_keys() -> tuple[X25519PrivateKey, str]:
    """A one-off key pair for one privacy request: the private key stays with the command; the public key
    (base64 of its 32 raw bytes) goes in the request."""
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, _b64(public)


def _reply_key(shared: bytes, context: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"frontdoor-privacy-reply|{context}".encode()).derive(shared)


class SealedReply(EventData):
    """A JSON document sealed to a request's public key: only the requester opens it."""

    ephemeral_public_key: str = Field(min_length=44, max_length=44, pattern=BASE64)
    nonce: str = Field(min_length=16, max_length=16, pattern=BASE64)
    ciphertext: str = Field(min_length=24, max_length=800_000, pattern=BASE64)


def seal_to(public_key: str, document: Mapping[str, Any], context: str) -> SealedReply:
    """`document` (JSON) sealed to the holder of `public_key`'s private key, bound to `context`."""
    try:
        recipient = X25519PublicKey.from_public_bytes(_unb64(public_key))
    except ValueError:
        raise SealBroken("the reply key is not an X25519 public key") from None
    ephemeral = X25519PrivateKey.generate()
    key = _reply_key(ephemeral.exchange(recipient), context)
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(dict(document), separators=(",", ":"), sort_keys=True, default=_json_default).encode()
    ephemeral_public = ephemeral.public_key().public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)
    return SealedReply(ephemeral_public_key=_b64(ephemeral_public), nonce=_b64(nonce),
                       ciphertext=_b64(AESGCM(key).encrypt(nonce, plaintext, context.encode())))


def open_reply(private_key: X25519PrivateKey, sealed: SealedReply, context: str) -> dict[str, Any]:
    try:
        peer = X25519PublicKey.from_public_bytes(_unb64(sealed.ephemeral_public_key))
        key = _reply_key(private_key.exchange(peer), context)
        document = json.loads(AESGCM(key).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext),
                                                  context.encode()))
    except (InvalidTag, ValueError):
        raise SealBroken("the reply does not open with this request's key") from None
    if not isinstance(document, dict):
        raise SealBroken("the reply is not an object")
    return document


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID | bytes):
        return str(value)
    return str(value)
