"""A batch's offsets are committed while the consumer goes on: one commit at a time and in order, a failure
raised at the next batch, a rebalance's refusal only logged, and a stop that waits for the last commit (a
client that records what it is asked here: the consumer's commits against the real broker are in every
service's end-to-end tests)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import CommitFailedError, KafkaConnectionError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from frontdoor_platform.offset_commits import OffsetCommits

TP = TopicPartition("notes.v1", 0)


def batch(*offsets: int) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    return {TP: [ConsumerRecord(topic=TP.topic, partition=0, offset=o, timestamp=0, timestamp_type=0, key=b"k",
                                value=b"v", checksum=None, serialized_key_size=1, serialized_value_size=1,
                                headers=[]) for o in offsets]}


class Broker:
    """Answers each commit when the test says so (or fails it with `failure`)."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.answered: list[int] = []
        self.answer = asyncio.Event()
        self.failure: Exception | None = None
        self.failures: list[Exception | None] = []  # one a commit, in turn, before `failure`

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.asked.append(offsets[TP].offset)
        await self.answer.wait()
        failure = self.failures.pop(0) if self.failures else self.failure
        if failure is not None:
            raise failure
        self.answered.append(offsets[TP].offset)


def commits(broker: Broker) -> OffsetCommits:
    return OffsetCommits(broker)


async def test_the_next_batch_goes_on_while_the_offsets_wait_and_commits_go_one_at_a_time_in_order() -> None:
    broker, done = Broker(), list[int]()
    offsets = commits(broker)
    await offsets.commit(batch(0, 1), lambda: done.append(2))  # returns at once: the broker has not answered
    second = asyncio.create_task(offsets.commit(batch(2), lambda: done.append(3)))
    await asyncio.sleep(0.05)
    assert broker.asked == [2] and not second.done()  # the second waits for the first's answer
    broker.answer.set()
    await second
    await offsets.stop()
    assert broker.asked == broker.answered == [2, 3] and done == [2, 3]


async def test_a_failed_commit_is_raised_at_the_next_batch() -> None:
    broker = Broker()
    broker.failure = KafkaConnectionError("gone")
    broker.answer.set()
    offsets = commits(broker)
    await offsets.commit(batch(0), lambda: None)
    with pytest.raises(KafkaConnectionError):
        await offsets.commit(batch(1), lambda: None)
    await offsets.stop()
    assert broker.asked == [1]  # the second batch's offsets were never sent


async def test_a_rebalance_refusing_the_commit_is_logged_and_the_consumer_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    broker, done = Broker(), list[Any]()
    broker.failures = [CommitFailedError("rebalanced"), None]
    broker.answer.set()
    offsets = commits(broker)
    await offsets.commit(batch(0), lambda: done.append("first"))
    await offsets.commit(batch(1), lambda: done.append("second"))  # the first's refusal is not raised
    await offsets.stop()
    assert done == ["second"] and "the group rebalanced" in caplog.text


async def test_a_stop_waits_for_the_last_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    broker, done = Broker(), list[int]()
    offsets = commits(broker)
    await offsets.commit(batch(4), lambda: done.append(5))
    asyncio.get_running_loop().call_later(0.2, broker.answer.set)
    await offsets.stop()
    assert done == [5]


async def test_a_stop_while_the_next_batch_waits_for_the_commit_before_still_commits_it() -> None:
    """The consumer cancelled while it waits for the batch before's commit: the batch it applied is committed
    too before the stop ends (it is queued before anything is awaited)."""
    broker, done = Broker(), list[int]()
    offsets = commits(broker)
    await offsets.commit(batch(0), lambda: done.append(1))
    waiting = asyncio.create_task(offsets.commit(batch(1), lambda: done.append(2)))
    await asyncio.sleep(0.05)
    waiting.cancel()
    broker.answer.set()
    await offsets.stop()
    assert broker.answered == [1, 2] and done == [1, 2]


async def test_a_stop_waits_for_a_commit_that_never_answers_only_so_long(monkeypatch: pytest.MonkeyPatch,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("frontdoor_platform.offset_commits.STOP_WAIT_SECONDS", 0.1)
    broker = Broker()
    offsets = commits(broker)
    await offsets.commit(batch(4), lambda: None)
    await offsets.stop()
    assert broker.answered == [] and "offsets not committed before the stop" in caplog.text
