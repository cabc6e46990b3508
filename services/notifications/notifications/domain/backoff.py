"""How long to wait before the next delivery attempt: exponential backoff,
capped, with jitter so that many deliveries failing together (a receiver
down) do not all come back at the same instant.

Pure: the random source is injected (a function returning a float in
[0, 1), e.g. `random.Random(seed).random`), so tests choose it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Random = Callable[[], float]
MAX_EXPONENT = 62  # 2**62 * any sane base is past every cap; beyond it the float would overflow


@dataclass(frozen=True)
class Backoff:
    base_seconds: float  # the first retry's ceiling
    cap_seconds: float  # no wait is longer

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds <= 0:
            raise ValueError("backoff base and cap must be positive")

    def ceiling(self, failures: int) -> float:
        """The longest wait after `failures` failures (1, 2, ...): base * 2**(failures-1), capped."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        return min(self.cap_seconds, self.base_seconds * 2.0 ** min(failures - 1, MAX_EXPONENT))

    def full_jitter(self, failures: int, random: Random) -> float:
        """Anywhere in [0, ceiling): "full jitter" (AWS architecture blog)."""
        return _unit(random) * self.ceiling(failures)


def _unit(random: Random) -> float:
    value = random()
    if not 0.0 <= value < 1.0:
        raise ValueError("the random source must return a float in [0, 1)")
    return value
