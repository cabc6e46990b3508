"""The one settings object of the allocation service (env prefix ALLOCATION_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ServiceSettings
from frontdoor_platform.staff import StaffPageSettings


class Settings(ServiceSettings, StaffPageSettings):
    """The service's settings; the staff pages' sign-in (sessions, throttle) tuned by the kit's fields
    (`ALLOCATION_SESSION_HOURS`, `ALLOCATION_PAGE_DELAY_MAX_SECONDS`, ...)."""

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
    # The board (/board/) reloads itself this often while a meeting runs (from a quarter of an hour before it
    # starts until `meeting_minutes` after), and this often otherwise (0: never).
    board_refresh_seconds: int = Field(default=30, ge=5, le=3600)
    board_idle_refresh_seconds: int = Field(default=300, ge=0, le=86400)
    meeting_minutes: int = Field(default=180, ge=15, le=720)
    # The outcomes service's chronology page (for example https://outcomes.council.example/chronology): the
    # board, a case and the caseloads link each case's family to `{chronology_url}/families/{family_id}`
    # (None: no link).
    chronology_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://[^\s\"'<>]+$")

    @field_validator("chronology_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else value.rstrip("/")
