"""Standard Webhooks signatures, checked by the `standardwebhooks` library a
school's receiver would use, across a secret rotation with an overlap."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from frontdoor_platform.database import build_engine
from notifications.delivery import signing
from notifications.migrations import migrate
from notifications.models import SigningSecretRow
from notifications.sealing import signing_context
from notifications.settings import Settings

BODY = json.dumps({"notification_id": "5f7c3c52-8a55-4d8e-9d0e-0f6b1f1d2a11", "kind": "da_incident"}).encode()
MESSAGE_ID = "5f7c3c52-8a55-4d8e-9d0e-0f6b1f1d2a11"
NOW = datetime.now(UTC)
KEYS = Settings().sealing_keys


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'n.db'}")
    migrate(built)
    yield built
    built.dispose()


def headers_now(secrets: list[str], body: bytes = BODY) -> dict[str, str]:
    return signing.headers(secrets, MESSAGE_ID, int(time.time()), body)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    one, two = signing.new_secret(), signing.new_secret()
    assert one.startswith("whsec_") and one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32
    assert signing.secret_key(one) == base64.b64decode(one[len("whsec_"):])


def test_the_receivers_library_verifies_the_signature_and_the_headers() -> None:
    secret = signing.new_secret()
    headers = headers_now([secret])
    assert headers["webhook-id"] == MESSAGE_ID
    assert headers["webhook-timestamp"].isdigit()
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_a_changed_body_an_unknown_secret_or_a_changed_id_fails_verification() -> None:
    secret = signing.new_secret()
    headers = headers_now([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"da_incident", b"case_allocated"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "another"})


def add_secret(engine: Engine, recipient: str, secret: str, created: datetime, expires: datetime | None) -> None:
    sealed = KEYS.seal(secret, signing_context(recipient))
    with Session(engine) as session:
        session.add(SigningSecretRow(recipient_id=recipient, secret=sealed.ciphertext, key_id=sealed.key_id,
                                     created_at=created, expires_at=expires))
        session.commit()


def test_during_a_rotation_both_secrets_sign_so_a_receiver_knowing_either_verifies(engine: Engine) -> None:
    old, new = signing.new_secret(), signing.new_secret()
    add_secret(engine, "100001", old, NOW - timedelta(days=30), NOW + timedelta(hours=24))  # overlap
    add_secret(engine, "100001", new, NOW, None)
    add_secret(engine, "100002", signing.new_secret(), NOW, None)  # another school's: never used
    with Session(engine) as session:
        valid = signing.valid_secrets(session, "100001", NOW, KEYS)
    assert valid == [new, old]  # newest first
    headers = headers_now(valid)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) == json.loads(BODY)  # the receiver not yet switched
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)  # the receiver already switched


def test_an_expired_secret_no_longer_signs(engine: Engine) -> None:
    old, new = signing.new_secret(), signing.new_secret()
    add_secret(engine, "100001", old, NOW - timedelta(days=30), NOW - timedelta(seconds=1))  # overlap over
    add_secret(engine, "100001", new, NOW - timedelta(hours=25), None)
    with Session(engine) as session:
        valid = signing.valid_secrets(session, "100001", NOW, KEYS)
        assert signing.valid_secrets(session, "100001", NOW - timedelta(hours=1), KEYS) == [new, old]  # before expiry
    assert valid == [new]
    headers = headers_now(valid)
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, headers)


def test_nothing_is_sent_unsigned() -> None:
    with pytest.raises(ValueError):
        signing.headers([], MESSAGE_ID, int(time.time()), BODY)
