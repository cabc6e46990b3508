"""Each service's wrapping key: the development key in development only, a configured key checked, and
errors that name the setting, never the key."""

from __future__ import annotations

import base64
import json

import pytest

from frontdoor_platform.wrapping import development_key, others_keys, own_key, parse_key

GOOD = base64.b64encode(bytes(range(32))).decode()


def test_development_keys_differ_per_service_and_are_refused_in_production() -> None:
    assert development_key("contacts").key != development_key("notifications").key
    assert own_key("notifications", None, "development", False, "NOTIFICATIONS_WRAPPING_KEY") == \
        development_key("notifications")
    with pytest.raises(ValueError, match="NOTIFICATIONS_WRAPPING_KEY must be set in production"):
        own_key("notifications", None, "development", True, "NOTIFICATIONS_WRAPPING_KEY")
    with pytest.raises(ValueError, match="CONTACTS_WRAPPING_KEYS must be set in production"):
        others_keys(None, production=True)


@pytest.mark.parametrize("encoded", ["not base64!", base64.b64encode(b"short").decode(), "secret" * 10])
def test_a_wrong_key_is_refused_naming_the_setting_not_the_value(encoded: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_key("k1", encoded, "X_WRAPPING_KEY")
    assert "X_WRAPPING_KEY" in str(refused.value) and encoded not in str(refused.value)


def test_contacts_reads_every_services_key_and_refuses_a_missing_or_development_one() -> None:
    document = {s: {"id": "k1", "key": GOOD} for s in ("contacts", "allocation", "notifications", "outcomes")}
    keys = others_keys(json.dumps(document), production=True)
    assert keys["notifications"].key == bytes(range(32)) and "k1" in repr(keys["notifications"])
    assert GOOD not in repr(keys["notifications"])
    with pytest.raises(ValueError, match=r"CONTACTS_WRAPPING_KEYS\.outcomes"):
        others_keys(json.dumps({k: v for k, v in document.items() if k != "outcomes"}), production=True)
    document["outcomes"]["key"] = base64.b64encode(development_key("outcomes").key).decode()
    with pytest.raises(ValueError, match="development key is refused in production"):
        others_keys(json.dumps(document), production=True)
    with pytest.raises(ValueError, match="JSON object"):
        others_keys("[1, 2]", production=False)
