"""The one settings object of the notifications service (env prefix NOTIFICATIONS_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8003
    kafka_bootstrap: str = "localhost:9092"
    database_url: str = "sqlite:///.data/notifications.db"
    log_level: str = "INFO"
