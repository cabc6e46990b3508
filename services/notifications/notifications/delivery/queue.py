"""The persistent delivery queue (the `deliveries` table)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from ..models import DeliveryRow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def enqueue(session: Session, notification_id: uuid.UUID, channel: str, now: datetime) -> DeliveryRow:
    """Queue a notification for delivery on `channel` (the recipient's at
    the time), due now, in the caller's transaction. Idempotent: a
    notification already queued keeps its row (and its progress)."""
    existing = session.get(DeliveryRow, notification_id)
    if existing is not None:
        return existing
    row = DeliveryRow(notification_id=notification_id, channel=channel, state=PENDING, attempts=0,
                      next_attempt_at=now, updated_at=now)
    session.add(row)
    return row
