"""Secrets at rest, sealed with AES-GCM under a key id: a ciphertext opens
only with its own key, for its own row; keys rotate (a row under an older
key id opens while the current one seals); no error holds a key, a secret
or a ciphertext; the development key is known as such."""

from __future__ import annotations

import base64
import secrets

import pytest

from notifications.sealing import DEVELOPMENT_KEY, Keys, SealError, keys_from_environment, signing_context

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def a_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_a_sealed_secret_is_not_the_secret_and_opens_only_for_its_row() -> None:
    keys = Keys({"k1": a_key()}, "k1")
    sealed = keys.seal(SECRET, signing_context("100001"))
    assert sealed.key_id == "k1" and SECRET not in sealed.ciphertext and "c3Nz" not in sealed.ciphertext
    assert keys.seal(SECRET, signing_context("100001")).ciphertext != sealed.ciphertext  # a new nonce each time
    assert keys.open("k1", sealed.ciphertext, signing_context("100001")) == SECRET
    with pytest.raises(SealError):
        keys.open("k1", sealed.ciphertext, signing_context("100002"))  # moved onto another recipient's row
    altered = base64.b64decode(sealed.ciphertext)
    altered = altered[:-1] + bytes([altered[-1] ^ 1])
    with pytest.raises(SealError):
        keys.open("k1", base64.b64encode(altered).decode(), signing_context("100001"))
    with pytest.raises(SealError):
        keys.open("k1", "not base64 at all!", signing_context("100001"))


def test_keys_rotate_an_older_key_opens_its_rows_and_the_current_one_seals() -> None:
    old_key, new_key = a_key(), a_key()
    before = Keys({"2026-01": old_key}, "2026-01").seal(SECRET, "ctx")
    after = Keys({"2026-01": old_key, "2026-12": new_key}, "2026-12")
    assert after.open(before.key_id, before.ciphertext, "ctx") == SECRET
    assert after.seal(SECRET, "ctx").key_id == "2026-12"
    with pytest.raises(SealError) as refused:
        Keys({"2026-12": new_key}, "2026-12").open(before.key_id, before.ciphertext, "ctx")  # its key gone
    assert "key id" in str(refused.value) and old_key not in str(refused.value)


@pytest.mark.parametrize(("keys", "current", "rule"), [
    ({}, "k", "at least one key"),
    ({"k": "not*base64"}, "k", "secrets_keys[k] must be base64"),
    ({"k": base64.b64encode(b"short").decode()}, "k", "secrets_keys[k] must be 32 bytes"),
    ({"a key id with spaces": a_key()}, "a key id with spaces", "each key id"),
    ({"k": a_key()}, "other", "secrets_key_id must be one of the key ids"),
])
def test_a_key_that_is_not_one_is_refused_naming_the_setting_never_the_key(keys: dict[str, str], current: str,
                                                                          rule: str) -> None:
    with pytest.raises(ValueError) as refused:
        Keys(keys, current)
    assert rule in str(refused.value)
    assert all(key not in str(refused.value) for key in keys.values() if len(key) > 3)


def test_the_development_key_is_known_and_the_environment_names_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFICATIONS_SECRETS_KEYS", raising=False)
    monkeypatch.delenv("NOTIFICATIONS_SECRETS_KEY_ID", raising=False)
    assert keys_from_environment().development == {"development"}
    key = a_key()
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEYS", f'{{"k1": "{key}", "dev": "{DEVELOPMENT_KEY}"}}')
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEY_ID", "k1")
    given = keys_from_environment()
    assert given.current == "k1" and given.development == {"dev"} and key not in repr(given)
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEYS", "[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        keys_from_environment()
