"""The one settings object of the outcomes service (env prefix OUTCOMES_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ServiceSettings
from frontdoor_platform.staff import StaffPageSettings

from .thresholds_loader import SHIPPED


class Settings(ServiceSettings, StaffPageSettings):
    """The service's settings, and its chronology page's (`StaffPageSettings`: sessions, cookies, throttle)."""

    model_config = SettingsConfigDict(env_prefix="OUTCOMES_", extra="ignore")

    port: int = 8004
    database_url: str = Field(
        default="sqlite:///.data/outcomes.db",
        validation_alias=AliasChoices("OUTCOMES_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "outcomes"
    source_uri: str = "urn:frontdoor:outcomes"

    thresholds: Path = SHIPPED
    # The faust app: its id names the consumer group and the tables' changelog topics.
    stream_id: str = "frontdoor-outcomes"
    stream_data_dir: Path = Path(".data/outcomes-stream")
    # Replicas of the topics faust makes for itself (the tables' changelogs): as many as the declared topics
    # have on the cluster (3), so a write with acks=all meets the brokers' min.insync.replicas; 1 on one broker.
    stream_replication_factor: int = Field(default=1, ge=1, le=7)
    # How often every family is reviewed with today's date (sustained progress, the quiet period).
    review_seconds: float = Field(default=30.0, gt=0)
    # Families reviewed at a time on the event loop (about 50 µs each), records and requests served between.
    review_slice: int = Field(default=1000, ge=1)
    # How quickly a killed worker's partitions come back (the group's session timeout).
    stream_session_timeout_seconds: float = Field(default=10.0, gt=1)
