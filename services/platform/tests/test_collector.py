"""The garbage collector's settings for the services and a rebuild
(frontdoor_platform.collector): set, and given back after a rebuild."""

from __future__ import annotations

import gc

import pytest

from frontdoor_platform import collector


def test_a_rebuild_collects_less_often_and_gives_the_thresholds_back() -> None:
    before = gc.get_threshold()
    with collector.fewer_collections():
        assert gc.get_threshold() == collector.THRESHOLDS
    assert gc.get_threshold() == before


def test_the_thresholds_come_back_when_the_rebuild_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector.fewer_collections():
        raise RuntimeError("stopped")
    assert gc.get_threshold() == before


def test_a_service_freezes_what_start_up_made_and_collects_less_often() -> None:
    before = gc.get_threshold()
    try:
        collector.tune()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
