"""The one settings object of the outcomes service (env prefix OUTCOMES_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OUTCOMES_", extra="ignore")

    port: int = 8004
    database_url: str = Field(
        default="sqlite:///.data/outcomes.db",
        validation_alias=AliasChoices("OUTCOMES_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "outcomes"
    source_uri: str = "urn:frontdoor:outcomes"
