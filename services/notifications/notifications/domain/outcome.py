"""What handling a batch of events did, counted by bounded labels only
(kind, phase, resolution, reason: never a school or a child). The handlers
fill it in the consumer's transaction; the metrics read it once the batch
is committed. It sits here, below both, so neither imports the other."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Why a key record is unreadable here (keys.py): nothing wrapped for this service, wrapped under a wrapping key
# id it does not hold, or not unwrapping with the key of that id.
NO_KEY_FOR_SERVICE, UNKNOWN_KEY_ID, DOES_NOT_UNWRAP = "no_key_for_service", "unknown_key_id", "does_not_unwrap"
UNREADABLE_KEY = (NO_KEY_FOR_SERVICE, UNKNOWN_KEY_ID, DOES_NOT_UNWRAP)


@dataclass
class Outcome:
    """What a batch did, for the metrics (bounded labels only)."""

    reported: Counter[str] = field(default_factory=Counter)  # DA children read, by present (true | false)
    created: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, phase)
    resolutions: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    no_recipient: Counter[str] = field(default_factory=Counter)
    waiting: int = 0  # DA children whose key had not come: they wait for it
    keys: Counter[str] = field(default_factory=Counter)  # person keys: issued | erased | ignored
    unreadable_keys: Counter[str] = field(default_factory=Counter)  # key records not unwrapping here, by reason
    erased_for_person: int = 0  # notifications erased because their child was erased
    key_missing: int = 0  # DA children put on the MASH worklist: their key had not come in time
    dead_lettered: list[tuple[str, str]] = field(default_factory=list)  # (topic, reason), found after the read
