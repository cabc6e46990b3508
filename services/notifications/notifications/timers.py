"""What the clock makes happen: a DA notification not acknowledged by the
start of the school day is reported (`notifications.unacknowledged.v1`,
once), and a notification's personal data is erased at the end of the
retention period (after acknowledgement; after creation when it was never
acknowledged). Ids, times and outcomes stay for the KPIs. Both run from the
stored rows, so a deadline passed while the service was stopped still
fires once on start."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import NotificationKind, NotificationUnacknowledged
from frontdoor_contracts.topics import NOTIFICATIONS_UNACKNOWLEDGED
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread

from .events import emit
from .models import NotificationRow
from .runtime import Runtime

log = logging.getLogger("notifications.timers")
BATCH = 500


def report_unacknowledged(session: Session, now: datetime, source_uri: str) -> list[str | None]:
    """Mark and announce the DA notifications whose deadline passed unacknowledged; their phases."""
    rows = session.exec(select(NotificationRow).where(
        col(NotificationRow.kind) == NotificationKind.DA_INCIDENT, col(NotificationRow.deadline) <= now,
        col(NotificationRow.acknowledged_at).is_(None), col(NotificationRow.unacknowledged_at).is_(None),
    ).limit(BATCH)).all()
    for row in rows:
        assert row.deadline is not None
        row.unacknowledged_at = now
        session.add(row)
        emit(session, source_uri=source_uri, topic=NOTIFICATIONS_UNACKNOWLEDGED, key=row.notification_id, time=now,
             now=now, data=NotificationUnacknowledged(
                 notification_id=row.notification_id, kind=NotificationKind.DA_INCIDENT, recipient=row.recipient_id,
                 deadline=row.deadline, delivered=row.delivered_at is not None))
    return [row.phase for row in rows]


def erase_expired(session: Session, now: datetime, retention: timedelta) -> int:
    """Erase the personal data of notifications past retention; how many."""
    cutoff = now - retention
    rows = session.exec(select(NotificationRow).where(
        col(NotificationRow.erased_at).is_(None),
        or_(col(NotificationRow.acknowledged_at) <= cutoff,
            and_(col(NotificationRow.acknowledged_at).is_(None), col(NotificationRow.created_at) <= cutoff)),
    ).limit(BATCH)).all()
    for row in rows:
        row.given_name = row.family_name = row.upn = row.police_reference = row.details = None
        row.date_of_birth = None
        row.incident_at = None
        row.child_present = None
        row.erased_at = now
        session.add(row)
    return len(rows)


def _tick(rt: Runtime) -> tuple[list[str | None], int]:
    with Session(for_writing(rt.engine)) as session:
        now = rt.clock()
        phases = report_unacknowledged(session, now, rt.settings.source_uri)
        erased = erase_expired(session, now, timedelta(days=rt.settings.retention_days))
        session.commit()
    return phases, erased


async def run(rt: Runtime) -> None:
    while True:
        try:
            phases, erased = await in_thread(_tick, rt)
            for phase in phases:
                rt.metrics.unacknowledged.labels(phase or "unknown").inc()
            if erased:
                rt.metrics.erased.inc(erased)
            if phases:
                rt.relay.wake()
            if len(phases) == BATCH or erased == BATCH:
                continue
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("notification timers failed; retrying", extra={"error": type(exc).__name__})
        await asyncio.sleep(rt.settings.timers_interval_seconds)
