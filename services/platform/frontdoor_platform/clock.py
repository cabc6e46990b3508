"""The clock every service injects: a function returning an aware UTC
datetime. Tests pass their own; nothing reads the wall clock directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
