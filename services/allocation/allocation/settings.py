"""The one settings object of the allocation service (env prefix ALLOCATION_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8002
    kafka_bootstrap: str = "localhost:9092"
    database_url: str = "sqlite:///.data/allocation.db"
    log_level: str = "INFO"
