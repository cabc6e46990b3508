"""How far the retention erasures are behind, as ops staff see it: the
oldest erasure still to do, by the same rule `erase_expired` erases by, on a
real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import timers
from notifications.models import NotificationRow

MADE = datetime(2026, 11, 13, 22, 40, tzinfo=UTC)
NINETY = timedelta(days=90)


def notification(made: datetime, acknowledged: datetime | None = None) -> NotificationRow:
    return NotificationRow(notification_id=uuid.uuid4(), kind="da_incident", recipient_id="100001",
                           subject_id=uuid.uuid4(), source_event_id="e1", reported_at=made, created_at=made,
                           acknowledged_at=acknowledged, given_name="Amelia")


def test_nothing_is_overdue_until_the_oldest_erasure_falls_due(engine: Engine) -> None:
    with Session(engine) as session:
        assert timers.erasure_overdue(session, MADE, NINETY) == timedelta(0)  # no notification at all
        session.add(notification(MADE, acknowledged=MADE + timedelta(days=3)))  # due at MADE + 93 days
        session.add(notification(MADE + timedelta(days=1)))  # never acknowledged: due at MADE + 91 days
        session.commit()
        assert timers.erasure_overdue(session, MADE + timedelta(days=91), NINETY) == timedelta(0)
        assert timers.erasure_overdue(session, MADE + timedelta(days=91, hours=5), NINETY) == timedelta(hours=5)
        assert timers.erase_expired(session, MADE + timedelta(days=91, hours=5), NINETY) == 1
        session.commit()
        # the one erased no longer counts: the next is due two days later
        assert timers.erasure_overdue(session, MADE + timedelta(days=92), NINETY) == timedelta(0)
        assert timers.erasure_overdue(session, MADE + timedelta(days=94), NINETY) == timedelta(days=1)


def test_the_gauge_reads_the_database_when_scraped(engine: Engine) -> None:
    now = [MADE]
    registry = CollectorRegistry()
    registry.register(timers.RetentionGauge(engine, lambda: now[0], NINETY))
    with Session(engine) as session:
        session.add(notification(MADE))
        session.commit()
    assert registry.get_sample_value(timers.OVERDUE_METRIC) == 0.0
    now[0] = MADE + NINETY + timedelta(minutes=10)
    assert registry.get_sample_value(timers.OVERDUE_METRIC) == 600.0
    engine.dispose()  # a database that does not answer leaves the gauge out of the scrape, never fails it
    broken = CollectorRegistry()
    broken.register(timers.RetentionGauge(_unreachable(), lambda: now[0], NINETY))
    assert broken.get_sample_value(timers.OVERDUE_METRIC) is None


def _unreachable() -> Engine:
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
