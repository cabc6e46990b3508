"""The one settings object of the notifications service (env prefix NOTIFICATIONS_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    port: int = 8003
    database_url: str = Field(
        default="sqlite:///.data/notifications.db",
        validation_alias=AliasChoices("NOTIFICATIONS_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "notifications"
    source_uri: str = "urn:frontdoor:notifications"
