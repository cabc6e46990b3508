"""The DA children waiting for a key that never came (`da_children_waiting`,
the retention schedule's da_incidents class) are purged the class's period
after their incident was read, on a moved clock, on a real database (SQLite
and PostgreSQL): exactly those past due, counted in
purged_rows_total{class="da_incidents"}, each on the MASH worklist
(key_missing) whether or not the timers' sweep had put it there, once
(counted in key_missing_total when the purge put it there)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from person_keys_world import NOW, World
from sqlalchemy.engine import Engine

from frontdoor_contracts.retention import DA_INCIDENTS, default
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.purge import install
from notifications.metrics import Metrics
from notifications.models import NotificationRow, WaitingChildRow, WorklistRow
from notifications.retention import service_purges

SCHEDULE = default()
KEPT = SCHEDULE.of(DA_INCIDENTS).period


class Moved:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sample(metrics: KitMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(f"frontdoor_notifications_{name}", {"class": DA_INCIDENTS})


def test_children_whose_key_never_came_are_purged_after_the_classs_period_and_stay_on_the_worklist(
        engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    assert world.consume(world.incident(amelia)) == []  # read at NOW; the sweep never runs for her
    assert world.consume(world.incident(oliver), now=NOW + timedelta(days=5)) == []
    assert world.sweep(NOW + timedelta(days=5, minutes=10)).key_missing == 2  # hers is late too, his on time
    world.contact = uuid.uuid4()
    late = world.keys.child(world.contact, uuid.UUID(amelia["child_id"]), given_name="Amelia", school_urn="100001")
    assert world.consume(world.incident(late), now=NOW + timedelta(days=1)) == []  # not swept: not on the worklist
    assert len(world.rows(WorklistRow)) == 2 and len(world.rows(WaitingChildRow)) == 3

    clock, metrics = Moved(NOW + KEPT - timedelta(seconds=1)), Metrics()
    runner = install(metrics, engine, clock, SCHEDULE, service_purges(clock, metrics))
    assert runner.run_once()[0][DA_INCIDENTS] == 0
    clock.now = NOW + timedelta(days=1) + KEPT + timedelta(hours=1)
    assert sample(metrics, "purge_overdue_seconds") == 25 * 3600  # the first, read at NOW, a day and an hour ago
    assert runner.run_once()[0][DA_INCIDENTS] == 2
    assert [w.child_id for w in world.rows(WaitingChildRow)] == [uuid.UUID(oliver["child_id"])]
    items = {(w.contact_id, w.child_id): w for w in world.rows(WorklistRow)}
    assert len(items) == 3 and {w.kind for w in items.values()} == {"key_missing"}
    assert items[(world.contact, uuid.UUID(amelia["child_id"]))].created_at == clock.now  # put there by the purge
    assert sample(metrics, "purged_rows_total") == 2 and sample(metrics, "purge_overdue_seconds") == 0
    assert metrics.registry.get_sample_value("frontdoor_notifications_key_missing_total") == 1

    assert world.consume(world.key(amelia), now=clock.now) == []  # her key comes after all: nothing waits for it
    assert world.rows(NotificationRow) == []
    assert {w.resolved_at for w in world.rows(WorklistRow)} == {None}  # the MASH still phones the school
    clock.now = NOW + timedelta(days=5) + KEPT
    assert runner.run_once()[0][DA_INCIDENTS] == 1 and world.rows(WaitingChildRow) == []
    assert len(world.rows(WorklistRow)) == 3 and sample(metrics, "purged_rows_total") == 3
