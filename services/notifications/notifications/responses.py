"""The API's bodies and problems, declared so a generated client knows them. The MASH
and admin views carry ids, times and states only; a school's inbox carries
the minimum a key adult needs about its own pupil."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from frontdoor_contracts.allocation import StaffRef
from frontdoor_contracts.notifications import Channel
from frontdoor_platform.problems import problem_responses

from .domain import destinations

# The problems (application/problem+json) each kind of route may answer, for the OpenAPI document.
READS = problem_responses(401, 403, 422)
ONE = problem_responses(401, 403, 404, 422)
WRITES = problem_responses(401, 403, 404, 409, 422)

SchoolPhase = Literal["early_years", "primary", "secondary", "all_through", "special"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320,
                                         pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _a_webhook_destination(url: str) -> str:
    """Refused whatever the settings: not https (plain http only to this machine), credentials in the URL, and
    a host written as a private, link-local, multicast, reserved... address (domain/destinations.py). This
    machine itself is for development only: `directory.check_webhook_url` judges it with the settings, and
    every send judges the addresses the host resolves to then."""
    refused = destinations.url_refusal(url, local=True)
    if refused is not None:
        raise ValueError(destinations.rule_of(refused))
    return url


WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^https?://\S+$"),
                       AfterValidator(_a_webhook_destination)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TermDates(Body):
    first_day: date
    last_day: date

    @model_validator(mode="after")
    def _in_order(self) -> TermDates:
        if self.last_day < self.first_day:
            raise ValueError("last_day cannot be before first_day")
        return self


class CalendarOverrides(Body):
    """A school's own calendar: its terms instead of the authority's, extra closed (INSET) days, its start time."""

    terms: list[TermDates] | None = Field(default=None, max_length=12)
    closed_days: list[date] = Field(default_factory=list, max_length=60)
    starts_at: time | None = None


class KeyAdult(Body):
    staff_id: StaffRef
    email: Email | None = None


class Delivery(Body):
    channel: Channel
    webhook_url: WebhookUrl | None = None
    alert_email: Email | None = None

    @model_validator(mode="after")
    def _address_for_channel(self) -> Delivery:
        if self.channel is Channel.WEBHOOK and not self.webhook_url:
            raise ValueError("webhook_url is required for the webhook channel")
        if self.channel is Channel.EMAIL and not self.alert_email:
            raise ValueError("alert_email is required for the email channel")
        return self


class SchoolRequest(Delivery):
    name: Text
    phase: SchoolPhase
    key_adults: list[KeyAdult] = Field(default_factory=list, max_length=20)
    calendar: CalendarOverrides | None = None
    require_second_factor: bool = Field(default=False, description="The school's key adults sign in to the page "
                                        "with a code from an authenticator app after the password (enrolling "
                                        "one first)")


class AgencyRequest(Delivery):
    name: Text


class PasswordLink(Body):
    code: str = Field(description="One-time code, shown once: the key adult sets their own password with it on "
                      "the page (the admin never knows the password)")
    link: str = Field(description="The page's set-password form with the code filled in (the same code)")
    expires_at: AwareDatetime = Field(description="The code works once, until then; a newer one replaces it")


class ResolutionRequest(Body):
    note_code: Literal["school_phoned", "school_found", "no_school", "other"] = "school_phoned"


class RecipientView(Body):
    recipient_id: str
    name: str
    channel: Channel
    webhook_url: str | None
    alert_email: str | None
    signing_secrets: int = Field(description="Secrets signing now (two while a rotation overlaps)")
    updated_at: datetime


class SchoolView(RecipientView):
    urn: str
    phase: str | None
    key_adults: list[KeyAdult]
    calendar: CalendarOverrides | None
    require_second_factor: bool


class NewSecret(Body):
    secret: str = Field(description="whsec_<base64>: shown once; give it to the school's system")
    previous_expires_at: AwareDatetime | None = Field(description="Until then the previous secret signs too")


class Notice(Body):
    """What a school is told about its pupil (nothing else: no narrative, no adults, no other children)."""

    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    upn: str | None
    incident_at: datetime | None
    police_attended: bool
    police_reference: str | None
    child_present: bool | None
    mash_contact: str
    erased: bool = Field(description="The personal data was erased (the retention period ended, or the child "
                                    "was erased)")


class InboxItem(Body):
    notification_id: uuid.UUID
    deadline: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    notice: Notice


class Attempt(Body):
    number: int
    at: datetime
    outcome: str
    status: int | None
    duration_ms: int


class DeliveryStatus(Body):
    """The MASH's view: ids, times and states across schools, no personal data."""

    notification_id: uuid.UUID
    kind: str
    recipient_id: str
    phase: str | None
    reported_at: datetime
    deadline: datetime | None
    channel: str | None
    state: str | None
    attempts: int
    last_reason: str | None
    delivered_at: datetime | None
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    unacknowledged_at: datetime | None
    retried_at: datetime | None = Field(description="When the MASH last sent a failed delivery again")
    retried_by: str | None = Field(description="The API client that did")


class DeliveryDetail(DeliveryStatus):
    history: list[Attempt]


class WorkItem(Body):
    item_id: uuid.UUID
    kind: str
    reason: str
    contact_id: uuid.UUID | None
    child_id: uuid.UUID | None
    notification_id: uuid.UUID | None
    recipient_id: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


