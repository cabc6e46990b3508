"""Events the notifications service publishes: what happened to each school
notification (delivered, failed and escalated, acknowledged, unacknowledged
by the start of the school day) and children whose school is unknown.

Ids, times, bounded categories and organisations only: never a child's
name, date of birth, UPN or the police reference. The MASH looks the child
up by its platform id."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from .allocation import StaffRef
from .envelope import EventData
from .identifiers import SchoolUrn


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    INBOX = "inbox"


class NotificationKind(StrEnum):
    DA_INCIDENT = "da_incident"
    CASE_ALLOCATED = "case_allocated"
    OFFER_OVERDUE = "offer_overdue"


class FailureReason(StrEnum):
    CLIENT_ERROR = "client_error"  # 4xx: the receiver refused it (wrong URL, bad secret)
    SERVER_ERROR = "server_error"  # 5xx: the receiver is failing
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, DNS, TLS
    NO_CHANNEL = "no_channel"  # the directory has no usable address
    DEADLINE_NEAR = "deadline_near"  # not delivered by the margin before the deadline


class UnknownReason(StrEnum):
    NO_SCHOOL_ON_RECORD = "no_school_on_record"  # no URN on the event and no current enrolment
    SCHOOL_NOT_IN_DIRECTORY = "school_not_in_directory"
    NO_SCHOOL_DAY_KNOWN = "no_school_day_known"  # term dates not configured that far ahead


class NotificationEvent(EventData):
    notification_id: uuid.UUID = Field(description="Also the webhook-id a school's system receives")
    kind: NotificationKind
    recipient: str = Field(description="The school's URN, or the agency or role told (never a person)")
    contact_id: uuid.UUID | None = Field(
        default=None,
        description="The platform id of the contact the notification is about (DA incidents); an id only, "
        "absent from older producers and from notifications about no contact",
    )
    child_id: uuid.UUID | None = Field(
        default=None,
        description="The platform id of the child the school was told about (DA incidents); an id only, "
        "never a name, date of birth or UPN",
    )


class NotificationDelivered(NotificationEvent):
    """notifications.delivered.v1: the recipient has it (webhook accepted, alert sent, or in the inbox)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.notifications.delivered.v1"

    channel: Channel
    delivered_at: AwareDatetime
    deadline: AwareDatetime | None = Field(default=None, description="The start of the next school day (DA)")
    before_deadline: bool | None = None
    attempts: int = Field(ge=1)


class DeliveryFailed(NotificationEvent):
    """notifications.delivery-failed.v1: not delivered by the margin before the deadline, or after the
    configured number of failures. A person on the MASH worklist phones the school. Once per notification."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.notifications.delivery-failed.v1"

    channel: Channel
    reason: FailureReason
    attempts: int = Field(ge=0)
    deadline: AwareDatetime | None = None
    escalated_at: AwareDatetime


class NotificationUnacknowledged(NotificationEvent):
    """notifications.unacknowledged.v1: the school day started and no key adult acknowledged it."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.notifications.unacknowledged.v1"

    deadline: AwareDatetime
    delivered: bool


class NotificationAcknowledged(NotificationEvent):
    """notifications.acknowledged.v1: a school's key adult acknowledged it."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.notifications.acknowledged.v1"

    acknowledged_by: StaffRef = Field(description="The key adult's staff id, or the API client's name")
    acknowledged_at: AwareDatetime
    deadline: AwareDatetime | None = None
    before_deadline: bool | None = None


class SchoolUnknown(EventData):
    """notifications.school-unknown.v1: a child in a DA incident whose school could not be found; the MASH
    worklist has an item for it."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.notifications.school-unknown.v1"

    contact_id: uuid.UUID
    child_id: uuid.UUID
    school_urn: SchoolUrn | None = Field(default=None, description="The URN given, when it is not in the directory")
    reason: UnknownReason
    reported_at: AwareDatetime
