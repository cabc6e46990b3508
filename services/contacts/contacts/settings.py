"""The one settings object of the contacts service (env prefix CONTACTS_)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ServiceSettings
from frontdoor_platform.wrapping import WrappingKey, others_keys


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTS_", extra="ignore")

    port: int = 8001
    # CONTACTS_DATABASE_URL, or the conventional DATABASE_URL (e.g. PostgreSQL:
    # postgresql://user@host/db). SQLite under .data/ when neither is set.
    database_url: str = Field(
        default="sqlite:///.data/contacts.db",
        validation_alias=AliasChoices("CONTACTS_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "contacts"
    source_uri: str = "urn:frontdoor:contacts"
    # A referral for a child referred within this many months before is a re-referral (DfE: 12).
    re_referral_window_months: int = Field(default=12, ge=1, le=60)
    # How long POST /v1/contacts and /decision wait for the broker's verdict: past it, 503 with Retry-After
    # ("it may have been recorded": the record may still be in the producer's buffer, see frontdoor_platform.kafka).
    broker_answer_seconds: float = Field(default=3.0, gt=0, le=60)
    # Every service's wrapping key (CONTACTS_WRAPPING_KEYS, JSON: {"notifications": {"id": ..., "key": ...}, ...}):
    # a person's data key is wrapped with the key of each service that reads contacts.person-keys.v1, and each
    # service's share of a privacy request is sealed with its key. Unset in development: the published
    # development keys (frontdoor_platform.wrapping); production refuses them. Contacts' own key is
    # CONTACTS_WRAPPING_KEY (the kit's `wrapping_key`).
    wrapping_keys: SecretStr | None = None

    def services_wrapping_keys(self) -> Mapping[str, WrappingKey]:
        """Every service's wrapping key; ValueError naming the setting (never a key) when one is wrong."""
        text = self.wrapping_keys.get_secret_value() if self.wrapping_keys else None
        return others_keys(text, self.environment == "production")

    @model_validator(mode="after")
    def _wrapping_keys_readable(self) -> Settings:
        """A wrong or missing wrapping key stops the service at start, naming the setting."""
        self.own_wrapping_key("contacts")
        self.services_wrapping_keys()
        return self

    @property
    def api_source(self) -> str:
        """CloudEvents source of contacts and decisions taken over HTTP (a
        prefix: each API client's events carry `<prefix>:<client name>`)."""
        return self.source_uri + ":api"

    def api_source_of(self, client_name: str) -> str:
        """The source of the events one API client submitted: every write
        says which client made it, beside any name its body carries."""
        return f"{self.api_source}:{client_name}"
