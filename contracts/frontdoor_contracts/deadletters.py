"""Dead-letter records: the original bytes and headers, plus headers that
name the reason and the field (never the offending value)."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import InvalidEvent

Headers = list[tuple[str, bytes]]


def dead_letter_headers(error: InvalidEvent, topic: str, partition: int | None, offset: int | None,
                        original: Iterable[tuple[str, bytes]] = ()) -> Headers:
    return [
        *original,
        ("dlq.reason", error.reason.encode()),
        ("dlq.field", error.field.encode()),
        ("dlq.message", "; ".join(f"{e.field}: {e.message}" for e in error.errors).encode()[:2000]),
        ("dlq.topic", topic.encode()),
        ("dlq.partition", b"" if partition is None else str(partition).encode()),
        ("dlq.offset", b"" if offset is None else str(offset).encode()),
    ]
