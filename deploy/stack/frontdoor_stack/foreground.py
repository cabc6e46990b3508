"""What the stack tool's foreground commands (`run`, `year`) share: SIGTERM
stops them as Ctrl-C does, they wait until stopped, and they read whether
the stack runs secured from the environment, and how the tool itself connects to the broker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import FrameType

from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity

from . import kafka_access
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


def tool_security(run_dir: Path) -> KafkaSecurity:
    """The stack tool's own connection: FRONTDOOR_KAFKA_USERNAME (and _PASSWORD, _CA_FILE) when given with
    FRONTDOOR_KAFKA_SECURITY=sasl_ssl, else the local secured stack's admin, else plaintext."""
    username, password = os.environ.get("FRONTDOOR_KAFKA_USERNAME"), os.environ.get("FRONTDOOR_KAFKA_PASSWORD")
    if secured_from_env() and username and password:
        ca = os.environ.get("FRONTDOOR_KAFKA_CA_FILE")
        return KafkaSecurity.sasl_ssl(username, password, Path(ca) if ca else None)
    access = kafka_access.load(run_dir / "kafka")
    return access.admin if access is not None else PLAINTEXT
