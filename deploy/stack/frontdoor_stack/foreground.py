"""What the stack tool's foreground commands (`run`, `year`) share: SIGTERM
stops them as Ctrl-C does, they wait until stopped, and they read whether
the stack runs secured from the environment."""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

from .stack import StackError


def interrupt_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt, so a foreground command stops its stack as on Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def wait_forever() -> None:
    while True:
        time.sleep(3600)


def secured_from_env() -> bool:
    """FRONTDOOR_KAFKA_SECURITY: plaintext (the default) or sasl_ssl."""
    value = os.environ.get("FRONTDOOR_KAFKA_SECURITY", "plaintext") or "plaintext"
    if value not in ("plaintext", "sasl_ssl"):
        raise StackError("FRONTDOOR_KAFKA_SECURITY must be plaintext or sasl_ssl")
    return value == "sasl_ssl"
