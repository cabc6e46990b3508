"""The one settings object of the notifications service (env prefix NOTIFICATIONS_).

The schools' page's sessions, cookies and sign-in throttle are the kit's
staff pages' settings (`StaffPageSettings`, same names under this prefix:
NOTIFICATIONS_SESSION_HOURS, NOTIFICATIONS_PAGE_FREE_FAILURES, ...).

With FRONTDOOR_ENV=production (the kit's `environment`) every insecure
default below is refused at start, each naming its setting: a page URL
that is not https (`page_url`: the link email alerts give), the
development key for the secrets at rest (`secrets_keys`), webhooks to this
machine (`local_webhooks`), email without STARTTLS (`smtp_starttls`) and
the development wrapping key (`wrapping_key`: people's keys and privacy
requests' shares are sealed for this service with it). The page's cookies
are `Secure` there: NOTIFICATIONS_COOKIE_SECURE unset means so in
production, and false is refused (the kit's check)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from frontdoor_platform.settings import ENVIRONMENT_VARIABLE, ServiceSettings
from frontdoor_platform.staff import StaffPageSettings
from frontdoor_platform.wrapping import WrappingKey, development_key, parse_key

from .sealing import DEVELOPMENT_KEY_ID, Keys, development_keys
from .term_dates import SHIPPED

SERVICE = "notifications"  # the name the contacts service wraps people's keys for (NOTIFICATIONS_WRAPPING_KEY)


class Settings(ServiceSettings, StaffPageSettings):
    # an error never shows what was given (secrets_keys, smtp_password, kafka_password...): only the rule
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", hide_input_in_errors=True)

    port: int = 8003
    database_url: str = Field(
        default="sqlite:///.data/notifications.db",
        validation_alias=AliasChoices("NOTIFICATIONS_DATABASE_URL", "DATABASE_URL"),
    )
    consumer_group: str = "notifications"
    source_uri: str = "urn:frontdoor:notifications"

    # The local authority's term dates and INSET days (versioned file; schools may override in the directory).
    term_dates: Path = SHIPPED
    # What a school is told to call: the MASH's duty line (an office, never a person).
    mash_contact: str = "MASH duty desk, 0300 123 4567, mash@council.example"
    # Who is told of overdue offers: the directory entry `agency:<this>`.
    early_help_manager: str = "early-help-manager"

    # The delivery queue.
    delivery_max_attempts: int = Field(default=8, ge=1)  # failures before escalation
    delivery_backoff_seconds: float = Field(default=2.0, gt=0)  # first retry; doubles, with jitter
    delivery_backoff_max_seconds: float = Field(default=600.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_lease_seconds: float = Field(default=60.0, gt=0)  # a crashed worker's claim runs out after this
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_concurrency: int = Field(default=16, ge=1)
    # Escalate to the MASH when not delivered this long before the deadline.
    escalation_margin_minutes: int = Field(default=120, ge=0)
    # A new signing secret: the previous one keeps signing this long too.
    secret_overlap_hours: int = Field(default=24, ge=0)
    # Secrets at rest (webhook signing secrets, key adults' TOTP secrets; sealing.py): AES-256-GCM keys by key
    # id (a JSON object of id to base64 of 32 bytes) and the id of the one that encrypts; rows under another id
    # are read with theirs until `frontdoor-notifications secrets rekey`. The default is the development key,
    # published in the source: warned about in development, refused in production.
    secrets_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {key_id: SecretStr(key) for key_id, key in development_keys().items()})
    secrets_key_id: str = DEVELOPMENT_KEY_ID
    # DEVELOPMENT ONLY: webhooks may go to this machine (loopback), over plain http too (the demo school receiver
    # on 127.0.0.1). Off, a webhook goes over https to a globally reachable address only (domain/destinations.py).
    local_webhooks: bool = False

    # Email alerts (no personal data: only that a notification waits, and where to sign in).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "frontdoor-notifications@council.example"
    page_url: str = "http://127.0.0.1:8003/page/"

    # The page for schools' key adults: its sessions, cookies, set-password links and sign-in throttle are the
    # kit's staff pages' settings (`StaffPageSettings`, frontdoor_platform/staff/config.py; the throttle's rules
    # in frontdoor_platform/staff/throttle.py), read here as NOTIFICATIONS_SESSION_HOURS,
    # NOTIFICATIONS_COOKIE_SECURE, NOTIFICATIONS_PAGE_DELAY_MAX_SECONDS, ... One verification (argon2, ~160 ms,
    # four lanes) already takes both cores of a 2-core machine: page_verifications_at_once stays 1 there.

    # Personal data in a notification is erased this long after acknowledgement
    # (or after it was made, when never acknowledged).
    retention_days: int = Field(default=90, ge=1)
    timers_interval_seconds: float = Field(default=5.0, gt=0)
    # A DA child whose key (contacts.person-keys.v1) has not come this long after its incident was read goes
    # on the MASH worklist (`key_missing`); it is still told when the key comes. The key usually comes first,
    # or within a second.
    key_wait_minutes: float = Field(default=10.0, gt=0)
    # The wrapping key before NOTIFICATIONS_WRAPPING_KEY and its id, to unwrap people's keys wrapped under it
    # (never to wrap or open anything else). Rotation is not supported yet (README, "People's keys").
    wrapping_key_previous: SecretStr | None = None
    wrapping_key_previous_id: str | None = None

    _keys: Keys | None = PrivateAttr(default=None)

    @property
    def sealing_keys(self) -> Keys:
        """The keys of the secrets at rest, built from secrets_keys and secrets_key_id."""
        if self._keys is None:
            self._keys = self._built_keys()
        return self._keys

    def _built_keys(self) -> Keys:
        return Keys({key_id: key.get_secret_value() for key_id, key in self.secrets_keys.items()},
                    self.secrets_key_id)

    @model_validator(mode="after")
    def _keys_that_open(self) -> Settings:
        self._keys = self._built_keys()  # refused here, naming the setting, when a key is not one
        return self

    @model_validator(mode="after")
    def _a_wrapping_key_that_opens(self) -> Settings:
        """NOTIFICATIONS_WRAPPING_KEY (people's keys, privacy requests' shares) is 32 bytes, base64, with a key
        id; unset, the development key, refused in production (with the other insecure defaults below)."""
        if self.environment != "production" or self.wrapping_key is not None:
            self.own_wrapping_key(SERVICE)  # refused here, naming the setting, when it is not a key
        return self

    def previous_wrapping_key(self) -> WrappingKey | None:
        """NOTIFICATIONS_WRAPPING_KEY_PREVIOUS with its id, or None; ValueError naming the setting."""
        if self.wrapping_key_previous is None:
            if self.wrapping_key_previous_id is not None:
                raise ValueError("wrapping_key_previous_id is set without wrapping_key_previous")
            return None
        previous = parse_key(self.wrapping_key_previous_id or "", self.wrapping_key_previous.get_secret_value(),
                             "NOTIFICATIONS_WRAPPING_KEY_PREVIOUS")
        if previous.key_id == self.wrapping_key_id:
            raise ValueError("wrapping_key_previous_id must differ from wrapping_key_id (the ids say which key "
                             "wrapped a person's key)")
        if self.environment == "production" and previous.key == development_key(SERVICE).key:
            raise ValueError("wrapping_key_previous must not be the development key in production")
        return previous

    @model_validator(mode="after")
    def _a_previous_wrapping_key_that_opens(self) -> Settings:
        self.previous_wrapping_key()  # refused here, naming the setting, when it is not a key
        return self

    @model_validator(mode="after")
    def _nothing_insecure_in_production(self) -> Settings:
        """FRONTDOOR_ENV=production refuses every insecure default, each named (never a value)."""
        if self.environment != "production":
            return self
        refused = []
        if not self.page_url.startswith("https://"):
            refused.append("page_url must be an https URL (the link email alerts give)")
        if self.sealing_keys.development:
            refused.append("secrets_keys must not hold the development key (set keys of your own and "
                           "secrets_key_id, then run `frontdoor-notifications secrets rekey`)")
        if self.local_webhooks:
            refused.append("local_webhooks must be off (webhooks to this machine, over plain http)")
        if not self.smtp_starttls:
            refused.append("smtp_starttls must be true (email alerts over TLS)")
        if self.wrapping_key is None or self.own_wrapping_key(SERVICE).key == development_key(SERVICE).key:
            refused.append("wrapping_key must be set (people's keys and privacy requests are sealed for this "
                           "service with it; the development key is published)")
        if refused:
            raise ValueError(f"refused when {ENVIRONMENT_VARIABLE}=production: " + "; ".join(refused))
        return self

    @model_validator(mode="after")
    def _a_lease_outlasts_a_send(self) -> Settings:
        # A claim whose lease ran out while its send was still waiting would be claimed and sent again.
        if self.delivery_lease_seconds <= self.delivery_timeout_seconds:
            raise ValueError("delivery_lease_seconds must be longer than delivery_timeout_seconds (a send still "
                             "waiting when its lease runs out would be sent twice)")
        return self
