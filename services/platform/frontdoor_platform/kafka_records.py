"""What the producer sends and what it answers per record: `OutboundRecord`,
`Verdict` (True, False or `Refused(reason)`), and the rules that refuse a
record for good (too large, a bad topic name, a broker verdict no retry
changes) as against those that only ask to try again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import errors as kafka_errors
from aiokafka.errors import (
    BrokerResponseError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from frontdoor_contracts.limits import MAX_RECORD_BYTES

Headers = Sequence[tuple[str, bytes]]
CLOUDEVENTS_CONTENT_TYPE = ("content-type", b"application/cloudevents+json")
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")  # what Kafka accepts as a topic name


@dataclass(frozen=True)
class OutboundRecord:
    topic: str
    key: str | None
    value: bytes | None  # None: a tombstone on a compacted topic
    headers: Headers = ()


@dataclass(frozen=True)
class Refused:
    """One record's verdict: never publishable as it is (falsy, as is every verdict but True)."""

    reason: str

    def __bool__(self) -> bool:
        return False


# Per record: True (acknowledged), False (not written this time: try again), or Refused(reason).
Verdict = bool | Refused

# Broker errors about the broker or this producer's own state (its sequence, epoch or rights), never
# about one record, whatever their `retriable` says: the record is tried again, not refused.
NOT_THE_RECORDS_FAULT: tuple[type[BaseException], ...] = tuple(getattr(kafka_errors, name) for name in (
    "UnknownError", "BrokerNotAvailableError", "ReplicaNotAvailableError", "StaleControllerEpochError",
    "OutOfOrderSequenceNumber", "DuplicateSequenceNumber", "InvalidProducerEpoch", "InvalidProducerIdMapping",
    "UnknownProducerId", "InvalidTxnState", "ConcurrentTransactions", "TransactionCoordinatorFenced",
    "TransactionalIdAuthorizationFailed", "ClusterAuthorizationFailedError", "UnsupportedVersionError",
    "InvalidRequiredAcksError", "SecurityDisabled", "SaslAuthenticationFailed", "OperationNotAttempted",
) if hasattr(kafka_errors, name))


def record_size(record: OutboundRecord) -> int:
    """The bytes the record takes in a batch, key and headers counted (the producer's own upper bound)."""
    key = record.key.encode() if record.key is not None else None
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, record.value, list(record.headers)))


def refusal_before_send(record: OutboundRecord) -> str | None:
    """Why the record can never be sent, known without the broker, or None."""
    if not TOPIC_NAME.fullmatch(record.topic) or record.topic in (".", ".."):
        return "invalid_topic"
    if record_size(record) > MAX_RECORD_BYTES:
        return "record_too_large"
    return None


def refusal_of(error: BaseException) -> str | None:
    """Why a producer or broker error means the record can never be published, or None (try again)."""
    if isinstance(error, MessageSizeTooLargeError | RecordTooLargeError | RecordListTooLargeError):
        return "record_too_large"
    if isinstance(error, InvalidTopicError):
        return "invalid_topic"
    if isinstance(error, BrokerResponseError) and not error.retriable and not isinstance(error, NOT_THE_RECORDS_FAULT):
        return f"refused:{type(error).__name__}"
    return None  # a timeout, the connection, the producer's state: not the record's fault


def settle_before_send(records: Sequence[OutboundRecord]) -> list[Verdict | None]:
    """Refused(reason) for the records refused without the broker, False for
    the later records of their topic and key (held back, so order holds),
    None for the records to send."""
    verdicts: list[Verdict | None] = []
    blocked: set[tuple[str, str | None]] = set()
    for record in records:
        reason = refusal_before_send(record)
        if reason is not None:
            blocked.add((record.topic, record.key))
            verdicts.append(Refused(reason))
        else:
            verdicts.append(False if (record.topic, record.key) in blocked else None)
    return verdicts
