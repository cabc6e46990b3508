"""The one settings object of the contacts service (env prefix CONTACTS_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8001
    kafka_bootstrap: str = "localhost:9092"
    # CONTACTS_DATABASE_URL, or the conventional DATABASE_URL (e.g. PostgreSQL:
    # postgresql://user@host/db). SQLite under .data/ when neither is set.
    database_url: str = Field(
        default="sqlite:///.data/contacts.db",
        validation_alias=AliasChoices("CONTACTS_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "contacts"
    source_uri: str = "urn:frontdoor:contacts"
    log_level: str = "INFO"
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    run_consumer: bool = True
    consumer_batch_size: int = Field(default=500, ge=1)
