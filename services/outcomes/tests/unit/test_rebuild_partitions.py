"""A rebuild's input partitions (stream/partitions.py) never stall: a
partition that gives nothing while short of its end offset is an error
naming the partition and the offsets, not a wait for ever (the broker's
side is the e2e test's: tests/e2e/outcomes/test_rebuild_streamed.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition

from outcomes.stream.partitions import InputPartitions, StalledError


class Silent:
    """A consumer that never hands a record over, at offset 3."""

    def __init__(self) -> None:
        self.paused: list[TopicPartition] = []

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int = 0) -> dict[Any, Any]:
        await asyncio.sleep(0.01)
        return {}

    async def position(self, tp: TopicPartition) -> int:
        return 3

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused += partitions


def test_a_partition_that_gives_nothing_short_of_its_end_is_an_error_naming_it() -> None:
    inputs = InputPartitions("unused:9092", ("contacts.recorded.v1",), stall_seconds=0.2)
    tp = TopicPartition("contacts.recorded.v1", 2)
    inputs.partitions, inputs.ends = [tp], {tp: 10}
    inputs._consumer = Silent()  # type: ignore[assignment]
    [source] = inputs.sources()
    with pytest.raises(StalledError, match=r"contacts.recorded.v1 partition 2 gave nothing for 0 s at offset 3 of 10"):
        asyncio.run(source())


def test_a_partition_at_its_end_is_done_and_paused() -> None:
    inputs = InputPartitions("unused:9092", ("contacts.recorded.v1",), stall_seconds=0.2)
    tp = TopicPartition("contacts.recorded.v1", 0)
    inputs.partitions, inputs.ends = [tp], {tp: 3}
    consumer = Silent()
    inputs._consumer = consumer  # type: ignore[assignment]
    [source] = inputs.sources()
    assert asyncio.run(source()) == [] and consumer.paused == [tp]
