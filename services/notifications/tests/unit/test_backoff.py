"""The delivery backoff: exponential, capped, jitter inside its bounds."""

from __future__ import annotations

import itertools
import random

import pytest

from notifications.domain.backoff import Backoff

BACKOFF = Backoff(base_seconds=2.0, cap_seconds=600.0)


def test_the_ceiling_doubles_from_the_base_and_stops_at_the_cap() -> None:
    assert [BACKOFF.ceiling(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert BACKOFF.ceiling(9) == 512.0
    assert BACKOFF.ceiling(10) == 600.0
    assert BACKOFF.ceiling(10_000) == 600.0  # no overflow however many failures


def test_full_jitter_stays_between_zero_and_the_ceiling_and_spreads() -> None:
    source = random.Random(7).random
    for failures in range(1, 15):
        waits = [BACKOFF.full_jitter(failures, source) for _ in range(200)]
        assert all(0.0 <= w < BACKOFF.ceiling(failures) for w in waits)
        assert max(waits) - min(waits) > BACKOFF.ceiling(failures) / 2  # spread, not one value


def test_full_jitter_uses_the_injected_source_at_its_extremes() -> None:
    assert BACKOFF.full_jitter(3, lambda: 0.0) == 0.0
    assert BACKOFF.full_jitter(3, lambda: 0.5) == 4.0
    assert BACKOFF.full_jitter(3, lambda: 0.999999) == pytest.approx(8.0, rel=1e-5)
    assert BACKOFF.full_jitter(50, lambda: 0.5) == 300.0


def test_the_waits_grow_on_average_until_the_cap() -> None:
    source = random.Random(11).random
    means = [sum(BACKOFF.full_jitter(n, source) for _ in range(2000)) / 2000 for n in range(1, 12)]
    assert all(later > earlier for earlier, later in itertools.pairwise(means[:9]))  # under the cap
    assert means[-1] == pytest.approx(300.0, rel=0.1)  # capped: half the cap on average


def test_a_bad_random_source_or_count_is_refused() -> None:
    with pytest.raises(ValueError):
        BACKOFF.full_jitter(1, lambda: 1.0)
    with pytest.raises(ValueError):
        BACKOFF.ceiling(0)
    with pytest.raises(ValueError):
        Backoff(0.0, 1.0)
