"""The service's /metrics shows the term dates' end and the retention
erasures' delay, and the counters the alerts watch from 0 (in process, no
broker)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from notifications.app import create_app
from notifications.settings import Settings
from notifications.term_dates import LAST_DAY_METRIC
from notifications.timers import OVERDUE_METRIC


def test_metrics_show_the_gauges_and_the_watched_counters_from_zero(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", kafka_bootstrap="127.0.0.1:1",
                        run_consumer=False, publish_timeout_seconds=1)
    app = create_app(settings, clock=lambda: datetime(2026, 12, 5, 17, 0, tzinfo=UTC))
    for _ in range(2):  # a lifespan run again adds nothing twice
        with TestClient(app) as client:
            text = client.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[(LAST_DAY_METRIC, ())] == datetime(2028, 7, 20, 7, 30, tzinfo=UTC).timestamp()
    assert samples[(OVERDUE_METRIC, ())] == 0.0
    assert samples[("frontdoor_notifications_delivery_escalations_total", (("reason", "deadline_near"),))] == 0.0
    assert samples[("frontdoor_notifications_delivery_failures_total", (("reason", "connection"),))] == 0.0
    assert ("frontdoor_notifications_delivery_failures_total", (("reason", "deadline_near"),)) not in samples
    assert samples[("frontdoor_notifications_unacknowledged_total", (("phase", "unknown"),))] == 0.0
