"""NOTIFICATIONS_WRAPPING_KEY_PREVIOUS (with its id): the wrapping key before the current one, taken to
unwrap people's keys wrapped under it; refused, naming the setting and never its value, when it is not a
key, has no id or the current key's id, or is the development key in production."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from frontdoor_platform.wrapping import development_key
from notifications.app import rules_from
from notifications.settings import SERVICE, Settings

KEY = base64.b64encode(secrets.token_bytes(32)).decode()
OLD = base64.b64encode(secrets.token_bytes(32)).decode()


def test_the_previous_key_is_held_beside_the_current_one() -> None:
    keys = rules_from(Settings(wrapping_key=KEY, wrapping_key_id="2027-01", wrapping_key_previous=OLD,
                               wrapping_key_previous_id="2026-12")).keys
    assert keys.wrapping.key_id == "2027-01" and keys.previous is not None
    assert (keys.previous.key_id, keys.previous.key) == ("2026-12", base64.b64decode(OLD))
    assert rules_from(Settings()).keys.previous is None


@pytest.mark.parametrize(("given", "named"), [
    ({"wrapping_key_previous": "not base64!", "wrapping_key_previous_id": "old"},
     "NOTIFICATIONS_WRAPPING_KEY_PREVIOUS must be base64"),
    ({"wrapping_key_previous": OLD}, "NOTIFICATIONS_WRAPPING_KEY_PREVIOUS: the key id"),
    ({"wrapping_key_previous_id": "old"}, "wrapping_key_previous_id is set without wrapping_key_previous"),
    ({"wrapping_key_previous": OLD, "wrapping_key_previous_id": "development"},
     "wrapping_key_previous_id must differ from wrapping_key_id"),
])
def test_a_previous_key_that_is_not_one_is_refused_naming_the_setting(given: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named) as refused:
        Settings(**given)
    assert OLD not in str(refused.value)


def test_production_refuses_the_development_key_as_the_previous_one() -> None:
    secure: dict[str, Any] = {
        "environment": "production", "kafka_security": "sasl_ssl", "kafka_username": "notifications",
        "kafka_password": "a kafka password", "cookie_secure": True, "page_url": "https://frontdoor.example/page/",
        "secrets_keys": {"2026-12": KEY}, "secrets_key_id": "2026-12", "smtp_starttls": True,
        "wrapping_key": KEY, "wrapping_key_id": "2027-01"}
    Settings(**secure, wrapping_key_previous=OLD, wrapping_key_previous_id="2026-12")
    development = base64.b64encode(development_key(SERVICE).key).decode()
    with pytest.raises(ValidationError, match="wrapping_key_previous must not be the development key"):
        Settings(**secure, wrapping_key_previous=development, wrapping_key_previous_id="development")
