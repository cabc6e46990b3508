"""Structured JSON logs to stdout, one object a line.

Every line carries the event id and trace id of the work in hand (the
current OpenTelemetry span's trace, or the one set with `log_context`), so
one event can be followed across services. Callers pass
only ids, codes and counts in `extra`: never names, dates of birth,
identifiers or free text. Client-library noise (a broker that is down makes
aiokafka log many lines a second) is rate-limited to a line per interval
with a count of what was suppressed.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from .tracing import trace_id_now

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
NOISY_LIBRARIES = ("aiokafka", "kafka")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (`00-<trace>-<span>-<flags>`)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


@contextlib.contextmanager
def log_context(event_id: str | None = None, traceparent: str | None = None) -> Iterator[None]:
    """Every log line inside names this event and trace."""
    tokens = (_event_id.set(event_id), _trace_id.set(trace_id_of(traceparent)))
    try:
        yield
    finally:
        _event_id.reset(tokens[0])
        _trace_id.reset(tokens[1])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "event_id": _event_id.get(),
            "trace_id": trace_id_now() or _trace_id.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["where"] = where(record.exc_info[2])
        return json.dumps(entry, default=str)


def where(tb: TracebackType | None, frames: int = 8) -> list[str]:
    """The innermost frames of a traceback as `file:line:function`: where it failed, never the message or the
    values (an exception's text may hold a record's personal data)."""
    return [f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)[-frames:]]


class RateLimit(logging.Filter):
    """At most one line per `interval` seconds for each logger and message
    template of the noisy libraries; the next line says how many were held back."""

    def __init__(self, interval: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, object], float] = {}
        self._suppressed: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(NOISY_LIBRARIES):
            return True
        key = (record.name, record.msg)
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        record.suppressed = self._suppressed.pop(key, 0)
        return True


def configure(level: str, library_interval: float = 30.0) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RateLimit(library_interval))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
