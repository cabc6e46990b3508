"""FRONTDOOR_ENV=production refuses every insecure default of the
notifications service at start, naming the setting and never its value:
the page's cookies set not Secure (unset, they are Secure there: the kit's
staff page settings), a page URL that is not https, the
development key for the secrets at rest, webhooks to this machine, email
without STARTTLS. Development takes them all, warning about the
development key when the service starts. A wrapping key that is not one
is refused anywhere, naming NOTIFICATIONS_WRAPPING_KEY."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from frontdoor_platform.staff import StaffConfig
from frontdoor_platform.wrapping import development_key
from notifications import main
from notifications.sealing import DEVELOPMENT_KEY
from notifications.settings import Settings

OWN_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
WRAPPING_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
SECURE: dict[str, Any] = {
    "wrapping_key": WRAPPING_KEY, "wrapping_key_id": "2026-12",
    "environment": "production", "kafka_security": "sasl_ssl", "kafka_username": "notifications",
    "kafka_password": "a kafka password", "cookie_secure": True, "page_url": "https://frontdoor.example/page/",
    "secrets_keys": {"2026-12": OWN_KEY}, "secrets_key_id": "2026-12", "local_webhooks": False,
    "smtp_starttls": True,
}


def test_production_takes_settings_with_nothing_insecure() -> None:
    settings = Settings(**SECURE)
    assert settings.environment == "production" and settings.sealing_keys.current == "2026-12"
    assert OWN_KEY not in repr(settings)


@pytest.mark.parametrize(("insecure", "named"), [
    ({"page_url": "http://frontdoor.example/page/"}, "page_url must be an https URL"),
    ({"secrets_keys": {"development": DEVELOPMENT_KEY}, "secrets_key_id": "development"}, "secrets_keys must not"),
    ({"secrets_keys": {"2026-12": OWN_KEY, "old": DEVELOPMENT_KEY}}, "secrets_keys must not hold the development"),
    ({"local_webhooks": True}, "local_webhooks must be off"),
    ({"smtp_starttls": False}, "smtp_starttls must be true"),
    ({"wrapping_key": None}, "wrapping_key must be set"),
    ({"wrapping_key": base64.b64encode(development_key("notifications").key).decode()}, "wrapping_key must be set"),
])
def test_production_refuses_each_insecure_setting_naming_it(insecure: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{**SECURE, **insecure})
    message = str(refused.value)
    assert named in message and "FRONTDOOR_ENV=production" in message
    assert DEVELOPMENT_KEY not in message and OWN_KEY not in message and "a kafka password" not in message
    assert WRAPPING_KEY not in message


def test_production_refuses_the_defaults_from_the_environment_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in [("FRONTDOOR_ENV", "production"), ("NOTIFICATIONS_KAFKA_SECURITY", "sasl_ssl"),
                        ("NOTIFICATIONS_KAFKA_USERNAME", "notifications"),
                        ("NOTIFICATIONS_KAFKA_PASSWORD", "a kafka password"),
                        ("NOTIFICATIONS_LOCAL_WEBHOOKS", "true")]:
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    for setting in ("page_url", "secrets_keys", "local_webhooks", "smtp_starttls", "wrapping_key"):
        assert setting in message, setting
    assert "a kafka password" not in message


def test_the_page_cookies_are_secure_in_production_unless_set_false_which_is_refused() -> None:
    unset = Settings(**{**SECURE, "cookie_secure": None})
    assert StaffConfig.of(unset).cookie_secure
    with pytest.raises(ValidationError) as refused:
        Settings(**{**SECURE, "cookie_secure": False})
    assert "cookie_secure must not be false in production" in str(refused.value)


def test_development_takes_the_defaults() -> None:
    settings = Settings(environment="development", local_webhooks=True)
    assert not settings.cookie_secure and settings.sealing_keys.development == {"development"}
    assert settings.own_wrapping_key("notifications") == development_key("notifications")


@pytest.mark.parametrize("wrong", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_wrapping_key_that_is_not_one_is_refused_naming_the_setting(wrong: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(wrapping_key=wrong)
    assert "NOTIFICATIONS_WRAPPING_KEY must" in str(refused.value) and wrong not in str(refused.value)


def test_the_service_warns_about_the_development_key_when_it_starts_in_development(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main._app(Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}"))
    assert "secrets_keys holds the development key" in capsys.readouterr().out
    main._app(Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", secrets_keys={"k": OWN_KEY},
                       secrets_key_id="k"))
    assert "development key" not in capsys.readouterr().out
