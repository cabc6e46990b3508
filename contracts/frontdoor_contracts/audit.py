"""The audit trail's events: one per change a person or system made through
a service's API or command line (`<service>.audit.v1`), for the
authority's security monitoring. Who (an API client, a staff id or an
operator at the command line), what (an action code and the id of what
changed), when, and for directory entries the entry before and after.

Never a secret, a password, a password hash or an API key: the services
remove them by field name before the row and the event are written
(`frontdoor_platform.audit`). No child's or family's personal data: a
target is an id, never a name."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

from pydantic import AwareDatetime, Field, StringConstraints

from .caps import ONE_LINE
from .envelope import EventData

ACTOR_MAX = 120
ACTION_MAX = 60
TARGET_MAX = 200

# `client:<API client name>`, `staff:<staff id>` or `cli:<operating system user>`: an identifier, never a name.
Actor = Annotated[str, StringConstraints(max_length=ACTOR_MAX,
                                         pattern=r"^(client|staff|cli):[A-Za-z0-9][A-Za-z0-9._:/@-]*$")]
# What was done: `<kind>.<verb>` in lower case, e.g. `school.put`, `api_client.revoked`.
Action = Annotated[str, StringConstraints(max_length=ACTION_MAX, pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")]
# What changed: `<kind>:<id>`, e.g. `school:100001`, `case:<uuid>`, `api_client:<name>`.
Target = Annotated[str, StringConstraints(min_length=3, max_length=TARGET_MAX, pattern=ONE_LINE)]


class AuditRecorded(EventData):
    """A change, as the service's audit table holds it (the base of each service's audit event)."""

    audit_id: uuid.UUID = Field(description="The audit row's id; the event's id too")
    actor: Actor = Field(description="Who: client:<API client>, staff:<staff id> or cli:<operator>")
    action: Action = Field(description="What was done, e.g. school.put, key_adult.password_set")
    target: Target = Field(description="What changed: <kind>:<id>")
    at: AwareDatetime = Field(description="When")
    before: dict[str, Any] | None = Field(default=None, description="A directory entry before the change "
                                          "(never a secret or password)")
    after: dict[str, Any] | None = Field(default=None, description="After it (never a secret or password)")


class ContactsAuditRecorded(AuditRecorded):
    """contacts.audit.v1: a change made through the contacts service (a contact or decision submitted over
    HTTP, an API key created or revoked)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.contacts.audit-recorded.v1"


class AllocationAuditRecorded(AuditRecorded):
    """allocation.audit.v1: a change made through the allocation service (a case allocated, an offer, an
    answer, a step-up or a closure recorded, an API key created or revoked)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.allocation.audit-recorded.v1"


class NotificationsAuditRecorded(AuditRecorded):
    """notifications.audit.v1: a change made through the notifications service (the school directory, agency
    contacts, signing secrets rotated, a key adult's password set, an acknowledgement, a delivery sent again,
    a worklist item resolved, an API key created or revoked)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.notifications.audit-recorded.v1"


class OutcomesAuditRecorded(AuditRecorded):
    """outcomes.audit.v1: a change made through the outcomes service (an API key created or revoked)."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.outcomes.audit-recorded.v1"
