"""What every service's one settings object has; each service subclasses
it with its own env prefix (`CONTACTS_`, `ALLOCATION_`...) and its own rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from frontdoor_contracts.limits import MAX_BODY_BYTES


class ServiceSettings(BaseSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    kafka_bootstrap: str = "localhost:9092"
    log_level: str = "INFO"
    consumer_group: str = "frontdoor"
    source_uri: str = "urn:frontdoor"
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    run_consumer: bool = True
    consumer_batch_size: int = Field(default=500, ge=1)
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
