"""JSON logs: the event and trace of the work in hand on every line, and a
noisy client library held to a line per interval with a count."""

from __future__ import annotations

import json
import logging
import sys

from frontdoor_platform.logs import JsonFormatter, RateLimit, log_context

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_every_line_names_its_event_and_trace() -> None:
    record = logging.LogRecord("svc", logging.INFO, "", 0, "handled", None, None)
    with log_context("event-1", TRACEPARENT):
        line = json.loads(JsonFormatter().format(record))
    assert line["event_id"] == "event-1" and line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert json.loads(JsonFormatter().format(record))["event_id"] is None  # not outside the context


def test_library_noise_is_one_line_per_interval_with_a_count() -> None:
    now = [0.0]
    limit = RateLimit(interval=30, clock=lambda: now[0])

    def line(name: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, "", 0, "Unable connect to node %s", ("1",), None)

    passed = []
    for second in range(100):  # a broker down: a line every second
        now[0] = float(second)
        record = line("aiokafka.conn")
        if limit.filter(record):
            passed.append(record)
    assert len(passed) == 4  # at 0, 30, 60, 90 s
    assert [getattr(r, "suppressed", None) for r in passed] == [0, 29, 29, 29]
    assert limit.filter(logging.LogRecord("contacts", logging.ERROR, "", 0, "ours", None, None))


def _fails_on(value: str) -> None:
    raise ValueError(f"invalid literal: {value}")  # as a library's message might quote a record's field


def test_an_error_says_where_it_failed_never_its_message() -> None:
    try:
        _fails_on("Jane Doe 2015-03-02")
    except ValueError:
        record = logging.LogRecord("svc", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    text = JsonFormatter().format(record)
    line = json.loads(text)
    assert line["error"] == "ValueError"
    assert line["where"][-1].startswith("test_logs.py:") and line["where"][-1].endswith(":_fails_on")
    assert "Jane" not in text and "2015" not in text
