"""Rows to the API's bodies (pure): what each reader may see."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .models import DeliveryAttemptRow, DeliveryRow, KeyAdultRow, NotificationRow, RecipientRow, WorklistRow
from .responses import (
    Attempt,
    CalendarOverrides,
    DeliveryDetail,
    DeliveryStatus,
    InboxItem,
    KeyAdult,
    Notice,
    RecipientView,
    SchoolView,
    WorkItem,
)


def recipient_view(row: RecipientRow, secrets: int) -> RecipientView:
    return RecipientView(recipient_id=row.recipient_id, name=row.name, channel=row.channel,
                         webhook_url=row.webhook_url, alert_email=row.alert_email, signing_secrets=secrets,
                         updated_at=row.updated_at)


def school_view(row: RecipientRow, adults: Sequence[KeyAdultRow], secrets: int) -> SchoolView:
    return SchoolView(**recipient_view(row, secrets).model_dump(), urn=row.recipient_id, phase=row.phase,
                      key_adults=[KeyAdult(staff_id=a.staff_id, email=a.email) for a in adults],
                      calendar=CalendarOverrides.model_validate(json.loads(row.calendar)) if row.calendar else None,
                      require_second_factor=row.require_second_factor)


def notice(row: NotificationRow, mash_contact: str) -> Notice:
    return Notice(given_name=row.given_name, family_name=row.family_name, date_of_birth=row.date_of_birth,
                  upn=row.upn, incident_at=row.incident_at, police_attended=True,
                  police_reference=row.police_reference, child_present=row.child_present, mash_contact=mash_contact,
                  erased=row.erased_at is not None)


def inbox_item(row: NotificationRow, mash_contact: str) -> InboxItem:
    return InboxItem(notification_id=row.notification_id, deadline=row.deadline, created_at=row.created_at,
                     delivered_at=row.delivered_at, acknowledged_at=row.acknowledged_at,
                     acknowledged_by=row.acknowledged_by, notice=notice(row, mash_contact))


def delivery_status(row: NotificationRow, delivery: DeliveryRow | None) -> DeliveryStatus:
    return DeliveryStatus(
        notification_id=row.notification_id, kind=row.kind, recipient_id=row.recipient_id, phase=row.phase,
        reported_at=row.reported_at, deadline=row.deadline, channel=delivery.channel if delivery else None,
        state=delivery.state if delivery else None, attempts=delivery.attempts if delivery else 0,
        last_reason=delivery.last_reason if delivery else None, delivered_at=row.delivered_at,
        escalated_at=row.escalated_at, acknowledged_at=row.acknowledged_at, acknowledged_by=row.acknowledged_by,
        unacknowledged_at=row.unacknowledged_at, retried_at=delivery.retried_at if delivery else None,
        retried_by=delivery.retried_by if delivery else None)


def delivery_detail(row: NotificationRow, delivery: DeliveryRow | None,
                    attempts: Sequence[DeliveryAttemptRow]) -> DeliveryDetail:
    return DeliveryDetail(**delivery_status(row, delivery).model_dump(),
                          history=[Attempt(number=a.number, at=a.at, outcome=a.outcome, status=a.status,
                                           duration_ms=a.duration_ms) for a in attempts])


def work_item(row: WorklistRow) -> WorkItem:
    return WorkItem(item_id=row.item_id, kind=row.kind, reason=row.reason, contact_id=row.contact_id,
                    child_id=row.child_id, notification_id=row.notification_id, recipient_id=row.recipient_id,
                    created_at=row.created_at, resolved_at=row.resolved_at, resolved_by=row.resolved_by)
