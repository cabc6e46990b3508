"""Python's cyclic garbage collector, set for processes that make many
short-lived objects around a large, long-lived heap: a consumer's ORM
objects and events a batch beside its caches, a rebuild's events beside
the families' pictures it holds.

At Python's default thresholds (a young collection every 700 allocations
net, the middle generation every 10 of those) the collector kept walking
the long-lived heap: 45% of an outcomes rebuild's time, and a contacts
worker recorded 12-30% more contacts a second with the settings here (in
deploy/bench/profiles.md). In the services, the objects start-up made (modules,
classes, settings) are frozen out of every collection; in them and in a
rebuild, the young generation is collected every 50,000 allocations net.
Objects freed by their reference count (almost all here) are freed at once
as before; only garbage in reference cycles waits longer, and a full
collection still runs every 200 young ones once the long-lived heap has
grown by a quarter.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 10)  # young every 50,000 allocations net; middle every 20 of those; old every 10 more


def tune() -> None:
    """For the rest of the process: start-up's objects frozen, the thresholds above."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The thresholds above while the block runs (a rebuild), the process's own back after it."""
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
