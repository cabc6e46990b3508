"""The one settings object of the allocation service (env prefix ALLOCATION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8002
    kafka_bootstrap: str = "localhost:9092"
    database_url: str = "sqlite:///.data/allocation.db"
    log_level: str = "INFO"
    consumer_group: str = "allocation"
    source_uri: str = "urn:frontdoor:allocation"
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    # The promise: SPA decision to offer within this many days.
    target_days: int = Field(default=10, ge=1, le=365)
    target_calendar: str = Field(default="calendar_days", pattern="^(calendar_days|working_days)$")
    # Which NFA decisions come to the meeting: "all", "none" or "levels:2,3".
    nfa_review: str = "all"
    due_soon_days: float = Field(default=2.0, ge=0)
    meeting_weekday: str = "tuesday"
    meeting_time: str = Field(default="10:00", pattern=r"^\d{2}:\d{2}$")
    sla_check_seconds: float = Field(default=30.0, gt=0)
    run_consumer: bool = True
