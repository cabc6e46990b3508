"""The staff pages' settings, read from the service's settings object.

A service whose settings class inherits `StaffPageSettings` (or declares
fields of the same names, as notifications' does) tunes them through its
own environment prefix; any field it lacks takes the default here. The
session cookie is `Secure` by default in production (FRONTDOOR_ENV), and
may be switched off only outside it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
from ipaddress import ip_network
from typing import Any

from limits import parse
from pydantic import BaseModel, Field, field_validator, model_validator


@dataclass(frozen=True)
class StaffConfig:
    session_hours: float = 8.0  # a session ends this long after sign-in whatever happens
    session_idle_minutes: float = 30.0  # and this long after its last request
    cookie_secure: bool = False
    password_link_minutes: float = 60.0  # a set-password link works once, for this long
    page_free_failures: int = 2  # throttle.py: rule 1
    page_delay_first_seconds: float = 1.0
    page_delay_max_seconds: float = 300.0
    page_delay_forget_hours: float = 24.0
    page_address_limit: str = "30/hour"  # rule 2
    page_account_limit: str = "100/hour"  # rule 3
    page_trusted_days: int = 30
    page_verifications_at_once: int = 1  # argon2 at once (signin.py)
    page_limits_storage: str = "async+memory://"
    page_trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    environment: str = "development"
    source_uri: str = "urn:frontdoor:staff"

    @classmethod
    def of(cls, settings: Any) -> StaffConfig:
        """The values `settings` has (by these names), the defaults for the rest."""
        given: dict[str, Any] = {}
        for spec in fields(cls):
            value = getattr(settings, spec.name, None)
            if value is not None:
                given[spec.name] = tuple(value) if spec.name == "page_trusted_proxies" else value
        if getattr(settings, "cookie_secure", None) is None:
            given["cookie_secure"] = given.get("environment") == "production"
        return cls(**given)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def link_lifetime(self) -> timedelta:
        return timedelta(minutes=self.password_link_minutes)


class StaffPageSettings(BaseModel):
    """Fields a service's settings class may inherit (beside `ServiceSettings`) to tune its staff pages."""

    session_hours: float = Field(default=8.0, gt=0)
    session_idle_minutes: float = Field(default=30.0, gt=0)
    cookie_secure: bool | None = None  # None: Secure in production, not on http://127.0.0.1 in development
    password_link_minutes: float = Field(default=60.0, gt=0)
    page_free_failures: int = Field(default=2, ge=0)
    page_delay_first_seconds: float = Field(default=1.0, gt=0)
    page_delay_max_seconds: float = Field(default=300.0, gt=0)
    page_delay_forget_hours: float = Field(default=24.0, gt=0)
    page_address_limit: str = "30/hour"
    page_account_limit: str = "100/hour"
    page_trusted_days: int = Field(default=30, ge=1)
    page_verifications_at_once: int = Field(default=1, ge=1)
    page_limits_storage: str = "async+memory://"
    page_trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("page_address_limit", "page_account_limit")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError("must be a rate limit such as '30/hour' or '5 per 10 minutes'") from None
        return value

    @field_validator("page_limits_storage")
    @classmethod
    def _an_async_storage(cls, value: str) -> str:
        if not value.startswith("async+"):
            raise ValueError("must be an async `limits` storage URI such as 'async+memory://'")
        return value

    @field_validator("page_trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ip_network(entry, strict=False)
            except ValueError:
                raise ValueError("each entry must be an IP address or network") from None
        return value

    @model_validator(mode="after")
    def _secure_cookies_in_production(self) -> StaffPageSettings:
        if getattr(self, "environment", None) == "production" and self.cookie_secure is False:
            raise ValueError("cookie_secure must not be false in production (the staff pages' cookies over HTTPS "
                             "only)")
        if self.page_delay_max_seconds < self.page_delay_first_seconds:
            raise ValueError("page_delay_max_seconds must be at least page_delay_first_seconds")
        return self
