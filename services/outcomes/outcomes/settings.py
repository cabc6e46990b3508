"""The one settings object of the outcomes service (env prefix OUTCOMES_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTCOMES_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8004
    kafka_bootstrap: str = "localhost:9092"
    database_url: str = "sqlite:///.data/outcomes.db"
    log_level: str = "INFO"
