"""What handling a batch of events did, counted by bounded labels only
(kind, phase, resolution, reason: never a school or a child). The handlers
fill it in the consumer's transaction; the metrics read it once the batch
is committed. It sits here, below both, so neither imports the other."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """What a batch did, for the metrics (bounded labels only)."""

    created: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, phase)
    resolutions: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    no_recipient: Counter[str] = field(default_factory=Counter)
