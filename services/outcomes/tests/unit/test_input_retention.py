"""What the outcomes service rebuilds from is kept long enough: every input topic of its stream is in a class
of the retention schedule marked `rebuilt_from`, kept at least the KPI windows' span (MIN_REBUILD_DAYS)."""

from __future__ import annotations

from frontdoor_contracts.retention import MIN_REBUILD_DAYS, default
from frontdoor_contracts.topics import DAY_MS, all_topics
from outcomes.stream.processor import INPUT_TOPICS


def test_every_input_topic_is_kept_long_enough_for_a_rebuild() -> None:
    schedule = default()
    specs = {spec.name: spec for spec in all_topics()}
    assert INPUT_TOPICS
    for topic in INPUT_TOPICS:
        kept = schedule.class_of_topic(topic)
        assert kept is not None and kept.rebuilt_from, topic
        assert schedule.retention_ms(specs[topic]) >= MIN_REBUILD_DAYS * DAY_MS, topic
