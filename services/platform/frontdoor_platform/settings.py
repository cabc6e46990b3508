"""What every service's one settings object has; each service subclasses
it with its own env prefix (`CONTACTS_`, `ALLOCATION_`...) and its own rules.

`environment` is the platform's, not a service's: `FRONTDOOR_ENV`
(development, the default, or production). In production the insecure
defaults are refused at start, naming the setting: today a plaintext
connection to Kafka (`<PREFIX>KAFKA_SECURITY=sasl_ssl` with a username,
password and CA file is what production takes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, cast

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from frontdoor_contracts.limits import MAX_BODY_BYTES

from .wrapping import WrappingKey, own_key

Environment = Literal["development", "production"]
ENVIRONMENT_VARIABLE = "FRONTDOOR_ENV"


def _environment() -> Environment:
    """FRONTDOOR_ENV as set (the field's validation refuses anything but the two)."""
    return cast(Environment, os.environ.get(ENVIRONMENT_VARIABLE, "development"))


class ServiceSettings(BaseSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Environment = Field(default_factory=_environment)
    kafka_bootstrap: str = "localhost:9092"
    # How the service's Kafka clients connect (frontdoor_platform.kafka_security): plaintext (the local
    # default), or SASL SCRAM-SHA-512 over TLS as `kafka_username`, trusting `kafka_ca_file` (a PEM CA bundle;
    # the system's trust store when unset).
    kafka_security: Literal["plaintext", "sasl_ssl"] = "plaintext"
    kafka_username: str | None = Field(default=None, min_length=1)
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = None
    log_level: str = "INFO"
    consumer_group: str = "frontdoor"
    source_uri: str = "urn:frontdoor"
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    run_consumer: bool = True
    consumer_batch_size: int = Field(default=500, ge=1)
    # How long the broker may hold the consumer's fetch when it finds no new records (`fetch.max.wait.ms`).
    # aiokafka fetches again only for partitions with nothing buffered, so a record arriving on another waits
    # for the fetch in flight: at 500 ms that held one DA contact in fifty for 500-700 ms beside 200
    # contacts/s (deploy/bench/profiles.md). Every service on the kit's consumer asks with 50 ms (with allocation
    # at 500 ms the simulated year's seeded month failed under the full suite's load). At 50 ms an idle
    # consumer asks twenty times a second, about 2% of a core more each: an operator may set more where no
    # one waits. The kit's consumer only: outcomes' faust stream has its own fetch settings.
    consumer_fetch_wait_ms: int = Field(default=50, ge=1, le=10_000)
    outbox_batch_size: int = Field(default=1000, ge=1)
    database_pool_size: int = Field(default=10, ge=1)
    max_requests_in_flight: int = Field(default=256, ge=1)
    # The largest request body the HTTP edge reads (`edge.py`): past it, 413 before it is read in full.
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1)
    # `serve` runs the API here and the consumer, relay and timers in a child
    # process (`consume`), so both cores work; false: all in one process.
    consumer_process: bool = True
    # Set by `serve` for its two processes: "api", "worker"; "all" for both in one.
    role: Literal["all", "api", "worker"] = "all"
    # The service's wrapping key (frontdoor_platform.wrapping): base64 of 32 bytes, and its id. Unset in
    # development: the service's published development key; production refuses that.
    wrapping_key: SecretStr | None = None
    wrapping_key_id: str = "development"

    def own_wrapping_key(self, service: str) -> WrappingKey:
        """This service's wrapping key; ValueError (naming the setting, never the key) when it is wrong."""
        prefix = str(self.model_config.get("env_prefix", "")).upper()
        return own_key(service, self.wrapping_key.get_secret_value() if self.wrapping_key else None,
                       self.wrapping_key_id, self.environment == "production", f"{prefix}WRAPPING_KEY")

    @model_validator(mode="after")
    def _kafka_connection(self) -> ServiceSettings:
        """SASL needs a username and a password; production refuses plaintext. Errors name the setting."""
        if self.kafka_security == "sasl_ssl":
            missing = [name for name, value in (("kafka_username", self.kafka_username),
                                                ("kafka_password", self.kafka_password)) if not value]
            if missing:
                raise ValueError(f"kafka_security=sasl_ssl needs {' and '.join(missing)}")
            if self.kafka_ca_file is not None and not self.kafka_ca_file.is_file():
                raise ValueError("kafka_ca_file is not a file")
        elif self.environment == "production":
            raise ValueError(f"kafka_security: plaintext is refused when {ENVIRONMENT_VARIABLE}=production "
                             "(set it to sasl_ssl, with kafka_username, kafka_password and kafka_ca_file)")
        return self
