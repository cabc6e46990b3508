"""The stream's own offsets against what faust hands over: replays kept, gaps found."""

from __future__ import annotations

from frontdoor_platform.routes import Incoming
from outcomes.stream.gaps import plan


def rec(partition: int, offset: int) -> Incoming:
    return Incoming("contacts.decided.v1", partition, offset, None, b"{}")


def test_replays_are_kept_and_a_jump_is_a_gap_to_read_first() -> None:
    applied = {("contacts.decided.v1", 0): 10, ("contacts.decided.v1", 1): 5}
    fresh, missing = plan([rec(0, 8), rec(0, 9), rec(0, 10), rec(1, 9), rec(1, 10), rec(2, 0)], applied)
    # 8 and 9 of partition 0 are in SQL, but their table updates may have died with the worker: applied again
    assert [(r.partition, r.offset) for r in fresh] == [(0, 8), (0, 9), (0, 10), (1, 9), (1, 10), (2, 0)]
    assert missing == {("contacts.decided.v1", 1): (5, 9)}  # 5..8 never handed over


def test_a_partition_never_seen_is_taken_as_it_comes() -> None:
    fresh, missing = plan([rec(0, 42), rec(0, 43)], {})
    assert len(fresh) == 2 and missing == {}


def test_a_replay_that_changes_no_table_is_dropped_when_asked() -> None:
    requests = [Incoming("privacy.requests.v1", 0, offset, None, b"{}") for offset in (3, 4, 5)]
    fresh, missing = plan([rec(0, 8), *requests], {("contacts.decided.v1", 0): 10, ("privacy.requests.v1", 0): 5},
                          lambda r: r.topic != "privacy.requests.v1")
    assert [(r.topic, r.offset) for r in fresh] == [("contacts.decided.v1", 8), ("privacy.requests.v1", 5)]
    assert missing == {}
