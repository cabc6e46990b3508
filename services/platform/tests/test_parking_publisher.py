"""The publisher tells apart, per record, acknowledged, not written this time
(try again) and never publishable as it is (Refused): by size and topic name
before anything is sent, by the broker's verdict after."""

from __future__ import annotations

import pytest
from aiokafka import errors
from parking_broker import create_topic, records_on, started_publisher

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_platform.kafka import (
    BrokerUnavailable,
    OutboundRecord,
    Publisher,
    RecordRefused,
    Refused,
    record_size,
    refusal_of,
)
from frontdoor_platform.testing import MemoryPublisher

HEADERS = [("content-type", b"application/cloudevents+json")]


def largest(topic: str, key: str) -> OutboundRecord:
    """The largest record that fits MAX_RECORD_BYTES, key and headers counted (the producer's measure)."""
    length = MAX_RECORD_BYTES
    while record_size(OutboundRecord(topic, key, b"x" * length, HEADERS)) > MAX_RECORD_BYTES:
        length -= 1
    return OutboundRecord(topic, key, b"x" * length, HEADERS)


def one_more(record: OutboundRecord) -> OutboundRecord:
    bigger = OutboundRecord(record.topic, record.key, record.value + b"x", record.headers)
    assert record_size(record) <= MAX_RECORD_BYTES < record_size(bigger)
    return bigger


@pytest.mark.parametrize(("error", "reason"), [
    (errors.MessageSizeTooLargeError(), "record_too_large"),
    (errors.RecordTooLargeError(), "record_too_large"),
    (errors.InvalidTopicError(), "invalid_topic"),
    (errors.PolicyViolationError(), "refused:PolicyViolationError"),
    (errors.TopicAuthorizationFailedError(), "refused:TopicAuthorizationFailedError"),
    (errors.CorruptRecordException(), "refused:CorruptRecordException"),
    # the broker or the producer in trouble, whatever `retriable` says: tried again, never parked
    (errors.KafkaTimeoutError(), None), (errors.KafkaConnectionError(), None), (errors.NotEnoughReplicasError(), None),
    (errors.OutOfOrderSequenceNumber(), None), (errors.UnknownProducerId(), None), (errors.ProducerClosed(), None),
    (errors.BrokerNotAvailableError(), None), (errors.UnknownTopicOrPartitionError(), None),
    (errors.KafkaError(), None), (OSError(), None),
])
def test_which_errors_mean_never(error: BaseException, reason: str | None) -> None:
    assert refusal_of(error) == reason


async def test_too_large_and_bad_topics_are_refused_without_the_broker() -> None:
    down = Publisher("127.0.0.1:1", 1.0, client_id="never-started")  # no broker at all
    fits = largest("t.v1", "a")
    over = one_more(fits)
    assert await down.publish_many([over, one_more(largest("t.v1", "b")),
                                    OutboundRecord("bad topic", "c", b"{}")]) == [
        Refused("record_too_large"), Refused("record_too_large"), Refused("invalid_topic")]
    with pytest.raises(RecordRefused) as refused:
        await down.publish(over.topic, over.key, over.value, over.headers)
    assert refused.value.reason == "record_too_large" and "x" not in str(refused.value)
    assert not isinstance(refused.value, BrokerUnavailable)  # never answered as "broker unavailable"
    with pytest.raises(BrokerUnavailable):  # a record that fits waits for the broker
        await down.publish(fits.topic, fits.key, fits.value, fits.headers)
    assert await down.publish_many([over, fits]) == [Refused("record_too_large"), False]


async def test_the_largest_record_that_fits_is_published_and_one_byte_more_is_refused(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap)
    publisher = await started_publisher(kafka_bootstrap)
    try:
        batch = [one_more(largest(topic, "a")), OutboundRecord(topic, "b", b"b-1", HEADERS),
                 OutboundRecord(topic, "a", b"a-2", HEADERS), largest(topic, "c")]
        assert await publisher.publish_many(batch) == [Refused("record_too_large"), True, False, True]
        on_broker = await records_on(kafka_bootstrap, topic)
        assert [(r.key, len(r.value or b"")) for r in on_broker] == [(b"b", 3), (b"c", len(batch[3].value))]
        with pytest.raises(RecordRefused):
            await publisher.publish(topic, "d", batch[0].value, HEADERS)
        await publisher.publish(topic, "d", b"d-1", HEADERS)  # the producer was not harmed by the refusals
    finally:
        await publisher.stop()


async def test_the_memory_publisher_refuses_as_the_real_one_does() -> None:
    fake = MemoryPublisher()
    over = one_more(largest("t.v1", "a"))
    assert await fake.publish_many([over, OutboundRecord("t.v1", "a", b"2"), OutboundRecord("t.v1", "b", b"3")]) == [
        Refused("record_too_large"), False, True]
    with pytest.raises(RecordRefused):
        await fake.publish(over.topic, over.key, over.value, over.headers)
    assert [r.value for r in fake.records] == [b"3"]
