"""`frontdoor-stack run` (`make run`): the seeds' year at a pace a person can watch (a business day every few
wall seconds) unless `--demo` asks for the demo stream in real time."""

from __future__ import annotations

import pytest

from frontdoor_stack.cli import build_parser, cmd_run
from frontdoor_stack.stack import StackError


def test_run_plays_the_year_at_a_day_every_four_seconds_by_default() -> None:
    args = build_parser().parse_args(["run"])
    assert (args.demo, args.day_seconds) == (False, 4.0)
    assert build_parser().parse_args(["run", "--demo", "--count", "5"]).demo is True


@pytest.mark.parametrize("seconds", ["0", "-2"])
def test_a_pace_of_no_time_is_refused_before_anything_starts(seconds: str) -> None:
    with pytest.raises(StackError, match="--day-seconds"):
        cmd_run(build_parser().parse_args(["run", "--day-seconds", seconds]))
