"""The one settings object of the allocation service (env prefix ALLOCATION_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", extra="ignore")

    port: int = 8002
    database_url: str = Field(
        default="sqlite:///.data/allocation.db",
        validation_alias=AliasChoices("ALLOCATION_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "allocation"
    source_uri: str = "urn:frontdoor:allocation"
    # The promise: SPA decision to offer within this many days.
    target_days: int = Field(default=10, ge=1, le=365)
    target_calendar: str = Field(default="calendar_days", pattern="^(calendar_days|working_days)$")
    # Which NFA decisions come to the meeting: "all", "none" or "levels:2,3".
    nfa_review: str = "all"
    due_soon_days: float = Field(default=2.0, ge=0)
    meeting_weekday: str = "tuesday"
    meeting_time: str = Field(default="10:00", pattern=r"^\d{2}:\d{2}$")
    sla_check_seconds: float = Field(default=30.0, gt=0)
