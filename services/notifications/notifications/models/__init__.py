"""The notifications service's own tables (SQLModel). Only this service reads them. The DA children and
the people's keys are in `people.py`, the base class in `base.py`; all are named here."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Text, false
from sqlmodel import Field

from frontdoor_contracts.topics import NOTIFICATIONS_AUDIT
from frontdoor_platform.apikeys import ApiClientFields
from frontdoor_platform.audit import AuditFields
from frontdoor_platform.database import utc_column
from frontdoor_platform.outbox import OutboxFields
from frontdoor_platform.reads import ReadFields, ReadPurgeFields, ReadTables
from frontdoor_platform.staff import StaffAccountBase, StaffLinkFields, StaffSessionFields

from .base import NotificationsTable
from .people import DAChildRow, PersonKeyRow, WaitingChildRow

KEY_ADULT_ROLES = frozenset({"key_adult"})  # the schools' page has one role

__all__ = ["KEY_ADULT_ROLES", "READ_LOG", "ApiClient", "AuditEntry", "DAChildRow", "DeliveryAttemptRow",
           "DeliveryRow", "EnrolmentRow", "KeyAdultRow", "NotificationRow", "NotificationsTable", "OutboxEvent",
           "PageSessionRow", "PasswordLinkRow", "PersonKeyRow", "ReadEntry", "ReadPurge", "RecipientRow",
           "SigningSecretRow", "WaitingChildRow", "WorklistRow"]


class OutboxEvent(OutboxFields, NotificationsTable, table=True):
    __tablename__ = "outbox"


class ApiClient(ApiClientFields, NotificationsTable, table=True):
    __tablename__ = "api_clients"


class AuditEntry(AuditFields, NotificationsTable, table=True):
    """Every change made through the API or the command line (append-only: see frontdoor_platform.audit)."""

    __tablename__ = "audit"
    AUDIT_TOPIC = NOTIFICATIONS_AUDIT


class EnrolmentRow(NotificationsTable, table=True):
    """Which pupil is on which school's roll (schools.enrolments.v1): how a
    child with a UPN but no URN on the incident finds its school."""

    __tablename__ = "enrolments"

    upn: str = Field(primary_key=True, max_length=13)
    school_urn: str = Field(primary_key=True, max_length=6)
    starts_on: date = Field(primary_key=True)
    ends_on: date | None = Field(default=None, index=True)  # the enrolments purge's column
    event_id: uuid.UUID
    recorded_at: datetime = Field(sa_column=utc_column())


class RecipientRow(NotificationsTable, table=True):
    """The directory (owned here, managed by the admin API): a school (id =
    its URN) or an agency contact (id = `agency:<agency id>`, the Early Help
    manager's among them), and how it is told."""

    __tablename__ = "recipients"

    recipient_id: str = Field(primary_key=True, max_length=80)
    kind: str = Field(max_length=10, index=True)  # school | agency
    name: str = Field(max_length=200)
    phase: str | None = Field(default=None, max_length=20)  # schools only
    channel: str = Field(max_length=10)  # webhook | email | inbox
    webhook_url: str | None = Field(default=None, max_length=2000)
    alert_email: str | None = Field(default=None, max_length=320)
    calendar: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON overrides
    updated_at: datetime = Field(sa_column=utc_column())
    # schools: their key adults sign in to the page with a TOTP code after the password (enrolling first)
    require_second_factor: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class SigningSecretRow(NotificationsTable, table=True):
    """A recipient's webhook signing secrets: the newest signs, and an older
    one keeps signing too until it expires (rotation with an overlap).
    Sealed at rest (sealing.py: AES-GCM under the key `key_id` names)."""

    __tablename__ = "signing_secrets"

    secret_id: int | None = Field(default=None, primary_key=True)
    recipient_id: str = Field(max_length=80, index=True)
    secret: str = Field(max_length=400)  # whsec_<base64>, sealed: base64 of the nonce, ciphertext and tag
    key_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class KeyAdultRow(StaffAccountBase, NotificationsTable, table=True):
    """A school's key adult (usually the Designated Safeguarding Lead): staff
    id, school, contact address, and a page account (the kit's staff account
    columns: an argon2 hash; a TOTP secret, sealed, once enrolled). Their
    role is the page's one (`key_adult`), their scope their school's URN.
    `account_id` is new each time the staff id is added: sessions and
    set-password links name it, so a key adult removed and added back starts
    with none."""

    __tablename__ = "key_adults"

    school_urn: str = Field(max_length=6, index=True)
    email: str | None = Field(default=None, max_length=320)

    def staff_roles(self) -> frozenset[str]:
        return KEY_ADULT_ROLES

    def staff_scope(self) -> str | None:
        return self.school_urn

    @classmethod
    def for_staff(cls, staff_id: str, roles: frozenset[str], scope: str | None, now: datetime,
                  **extra: Any) -> KeyAdultRow:
        if not scope:
            raise ValueError("a key adult's scope is their school's URN (--scope)")
        return cls(staff_id=staff_id, school_urn=scope, updated_at=now, **extra)


class PageSessionRow(StaffSessionFields, NotificationsTable, table=True):
    """A key adult's page session (the kit's staff session columns: only the token's hash is kept)."""

    __tablename__ = "page_sessions"


class PasswordLinkRow(StaffLinkFields, NotificationsTable, table=True):
    """A one-time set-password link (or code) the admin gave a key adult:
    only its SHA-256 is kept; gone once used, useless once expired."""

    __tablename__ = "page_password_links"


class NotificationRow(NotificationsTable, table=True):
    """One notification: a DA incident for one child at one school (id from
    the incident, the child and the school, so redelivery finds it), or an
    allocation message to an agency. The personal columns are erased after
    the retention period, or when the child is erased (a key tombstone, an
    erasure request); ids, times and outcomes stay for the KPIs."""

    __tablename__ = "notifications"

    notification_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=20, index=True)
    recipient_id: str = Field(max_length=80, index=True)
    phase: str | None = Field(default=None, max_length=20)
    subject_id: uuid.UUID = Field(index=True)  # the contact (DA) or the case
    child_id: uuid.UUID | None = Field(default=None, index=True)  # a tombstone or a privacy request finds them
    source_event_id: str = Field(max_length=200)
    reported_at: datetime = Field(sa_column=utc_column())
    deadline: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))
    created_at: datetime = Field(sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    delivered_channel: str | None = Field(default=None, max_length=10)
    acknowledged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    acknowledged_by: str | None = Field(default=None, max_length=80)
    escalated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    unacknowledged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    erased_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The W3C trace the notification was made in: its deliveries continue it (and the school's webhook carries it).
    traceparent: str | None = Field(default=None, max_length=55)
    # personal data (DA only), erased by retention
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None
    upn: str | None = Field(default=None, max_length=13)
    police_reference: str | None = Field(default=None, max_length=40)
    incident_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    child_present: bool | None = None
    # what an allocation message says (ids and categories only, JSON)
    details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DeliveryRow(NotificationsTable, table=True):
    """The persistent delivery queue: one row per notification, worked by
    the delivery loop (attempts with backoff and jitter, a lease so a crashed
    worker's claim runs out and the next one resumes it)."""

    __tablename__ = "deliveries"

    notification_id: uuid.UUID = Field(primary_key=True)
    channel: str = Field(max_length=10)
    state: str = Field(max_length=12, index=True)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=utc_column(index=True))
    leased_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_reason: str | None = Field(default=None, max_length=20)
    last_status: int | None = None
    updated_at: datetime = Field(sa_column=utc_column())
    # A failed delivery the MASH sent again (`retry`): who and when, and the attempts made before it (the
    # `delivery_max_attempts` count starts again from there).
    retried_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    retried_by: str | None = Field(default=None, max_length=80)
    attempts_before_retry: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class DeliveryAttemptRow(NotificationsTable, table=True):
    """Every attempt, for the audit: when, how long, what came back (never a body)."""

    __tablename__ = "delivery_attempts"

    attempt_id: int | None = Field(default=None, primary_key=True)
    notification_id: uuid.UUID = Field(index=True)
    number: int
    at: datetime = Field(sa_column=utc_column())
    outcome: str = Field(max_length=20)  # delivered | client_error | server_error | timeout | connection | ...
    status: int | None = None
    duration_ms: int


class WorklistRow(NotificationsTable, table=True):
    """The MASH worklist: children whose school is unknown, and deliveries
    escalated (a person phones the school). Ids only."""

    __tablename__ = "worklist"

    item_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=20, index=True)  # school_unknown | delivery_failed
    reason: str = Field(max_length=30)
    contact_id: uuid.UUID | None = None
    child_id: uuid.UUID | None = None
    notification_id: uuid.UUID | None = None
    recipient_id: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(sa_column=utc_column(index=True))
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    resolved_by: str | None = Field(default=None, max_length=80)


class ReadEntry(ReadFields, NotificationsTable, table=True):
    """Who read what: one row per record an API read or page view showed (append-only but for the retention
    purge: see frontdoor_platform.reads)."""

    __tablename__ = "read_log"


class ReadPurge(ReadPurgeFields, NotificationsTable, table=True):
    """The retention purge's cutoffs: the read log's triggers let only rows older than one be deleted."""

    __tablename__ = "read_log_purges"


READ_LOG = ReadTables(ReadEntry, ReadPurge)  # reads_of (subject access) and purge_reads (retention)
