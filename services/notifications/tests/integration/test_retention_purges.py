"""The notifications service's retention purges on a moved clock, on a real database (SQLite and PostgreSQL):
a notification's personal data erased the schedule's period after acknowledgement (after creation when never
acknowledged) and enrolments the schedule's period after they ended, exactly those past due and nothing else,
counted per class like every purge; the erasure made by the purge alone (the timers leave it), marked at the
service's clock and counted once; and NOTIFICATIONS_RETENTION_DAYS held to the schedule's figure."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_contracts.retention import ENROLMENTS, NOTIFICATIONS, default
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.purge import install
from notifications import timers
from notifications.metrics import Metrics
from notifications.models import EnrolmentRow, NotificationRow
from notifications.retention import check_settings, purges, service_purges
from notifications.runtime import Runtime
from notifications.settings import Settings

MADE = datetime(2026, 11, 13, 22, 40, tzinfo=UTC)
SCHEDULE = default()
KEPT = SCHEDULE.of(NOTIFICATIONS).period
ENROLMENT_KEPT = SCHEDULE.of(ENROLMENTS).period


class Moved:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def notification(made: datetime, acknowledged: datetime | None = None) -> NotificationRow:
    return NotificationRow(notification_id=uuid.uuid4(), kind="da_incident", recipient_id="100001",
                           subject_id=uuid.uuid4(), source_event_id=str(uuid.uuid4()), reported_at=made,
                           created_at=made, acknowledged_at=acknowledged, given_name="Amelia", family_name="Testchild",
                           upn="A123456789012", police_reference="PR-1", date_of_birth=date(2015, 1, 2))


def enrolment(upn: str, ends_on: date | None) -> EnrolmentRow:
    return EnrolmentRow(upn=upn, school_urn="100001", starts_on=date(2020, 9, 1), ends_on=ends_on,
                        event_id=uuid.uuid4(), recorded_at=MADE)


def sample(metrics: KitMetrics, name: str, data_class: str) -> float | None:
    return metrics.registry.get_sample_value(f"frontdoor_notifications_{name}", {"class": data_class})


def test_personal_data_is_erased_once_past_its_period_and_counted(engine: Engine) -> None:
    acknowledged = notification(MADE, acknowledged=MADE + timedelta(days=3))  # due at MADE + 93 days
    never = notification(MADE + timedelta(days=1))  # never acknowledged: due at MADE + 91 days
    acknowledged_id, never_id = acknowledged.notification_id, never.notification_id
    with Session(engine) as session:
        session.add_all([acknowledged, never])
        session.commit()
    clock, metrics = Moved(MADE + timedelta(days=91) - timedelta(seconds=1)), KitMetrics("notifications")
    runner = install(metrics, engine, clock, SCHEDULE, service_purges(clock))
    assert runner.run_once()[0][NOTIFICATIONS] == 0
    clock.now = MADE + timedelta(days=1) + KEPT + timedelta(hours=5)
    assert sample(metrics, "purge_overdue_seconds", NOTIFICATIONS) == 5 * 3600
    assert runner.run_once()[0][NOTIFICATIONS] == 1
    with Session(engine) as session:
        rows = {row.notification_id: row for row in session.exec(select(NotificationRow))}
    assert rows[never_id].given_name is None and rows[never_id].upn is None
    assert rows[never_id].erased_at == clock.now
    assert rows[acknowledged_id].given_name == "Amelia"  # acknowledged later: not yet
    assert sample(metrics, "purged_rows_total", NOTIFICATIONS) == 1
    assert sample(metrics, "purge_overdue_seconds", NOTIFICATIONS) == 0.0


def test_enrolments_go_the_schedules_period_after_they_ended_and_current_ones_stay(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all([enrolment("A000000000001", date(2025, 7, 22)), enrolment("A000000000002", date(2025, 7, 23)),
                         enrolment("A000000000003", None)])
        session.commit()
    ended = datetime(2025, 7, 22, tzinfo=UTC)
    clock, metrics = Moved(ended + ENROLMENT_KEPT - timedelta(seconds=1)), KitMetrics("notifications")
    runner = install(metrics, engine, clock, SCHEDULE, service_purges(clock))
    assert runner.run_once()[0][ENROLMENTS] == 0
    clock.now = ended + ENROLMENT_KEPT + timedelta(hours=1)
    assert sample(metrics, "purge_overdue_seconds", ENROLMENTS) == 3600
    assert runner.run_once()[0][ENROLMENTS] == 1
    with Session(engine) as session:
        assert {row.upn for row in session.exec(select(EnrolmentRow))} == {"A000000000002", "A000000000003"}
    clock.now = ended + timedelta(days=3650)
    assert runner.run_once()[0][ENROLMENTS] == 1
    with Session(engine) as session:
        assert {row.upn for row in session.exec(select(EnrolmentRow))} == {"A000000000003"}
    assert sample(metrics, "purged_rows_total", ENROLMENTS) == 2


def test_the_retention_setting_is_held_to_the_schedules_figure() -> None:
    check_settings(Settings(), SCHEDULE)  # the default, 90 days, is the schedule's
    with pytest.raises(ValueError, match="NOTIFICATIONS_RETENTION_DAYS must equal"):
        check_settings(Settings(retention_days=30), SCHEDULE)


def test_the_timers_leave_the_erasure_to_the_purge_which_marks_and_counts_it_once(engine: Engine) -> None:
    """The timers' own tick used to erase too, beside the purge (marked at the tick, counted in erased_total
    only), and the purge marked its erasures at the period's start (the cutoff) instead of when made."""
    row = notification(MADE)
    made = row.notification_id
    with Session(engine) as session:
        session.add(row)
        session.commit()
    clock, metrics = Moved(MADE + KEPT + timedelta(hours=5)), Metrics()
    runtime = Runtime(Settings(), engine, cast(Any, None), metrics, cast(Any, None), clock)
    assert timers._tick(runtime) == []  # nothing unacknowledged: not a DA deadline
    with Session(engine) as session:
        assert session.get(NotificationRow, made).given_name == "Amelia"  # type: ignore[union-attr]
    runner = install(metrics, engine, clock, SCHEDULE, purges(cast(Any, SimpleNamespace(clock=clock, metrics=metrics))))
    assert runner.run_once()[0][NOTIFICATIONS] == 1
    with Session(engine) as session:
        erased = session.get(NotificationRow, made)
    assert erased is not None and erased.given_name is None and erased.erased_at == clock.now
    assert metrics.registry.get_sample_value("frontdoor_notifications_erased_total") == 1
    assert sample(metrics, "purged_rows_total", NOTIFICATIONS) == 1
    clock.now += timedelta(days=1)
    timers._tick(runtime)
    assert runner.run_once()[0][NOTIFICATIONS] == 0  # erased once: never again
    assert metrics.registry.get_sample_value("frontdoor_notifications_erased_total") == 1
