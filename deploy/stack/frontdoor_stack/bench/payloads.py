"""The bench's payloads: N synthetic contacts from the demo generator (the
same ones for every path), as Kafka records, as lines for Kafka's
ProducerPerformance `--payload-file`, and as HTTP bodies (the `data` part)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..demo import DemoStream


@dataclass(frozen=True)
class Contact:
    key: bytes
    value: bytes  # the ContactSubmitted CloudEvent, structured JSON, one line
    contact_id: str


def contacts(count: int, seed: int = 2024) -> list[Contact]:
    stream = DemoStream(seed)
    made = []
    for _ in range(count):
        key, value, contact_id = stream.contact()
        made.append(Contact(key.encode(), value.encode(), contact_id))
    return made


def write_event_lines(items: list[Contact], path: Path) -> Path:
    """One CloudEvent per line (ProducerPerformance splits the file on newlines)."""
    path.write_bytes(b"\n".join(item.value for item in items) + b"\n")
    return path


def write_body_lines(items: list[Contact], path: Path) -> Path:
    """One `POST /v1/contacts` body per line: the ContactSubmitted `data`."""
    lines = (json.dumps(json.loads(item.value)["data"], separators=(",", ":")) for item in items)
    path.write_text("\n".join(lines) + "\n")
    return path
