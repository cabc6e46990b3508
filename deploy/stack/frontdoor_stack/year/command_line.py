"""`frontdoor-stack year` and `make run`'s year (`frontdoor-stack run`): the
command line over `command.py` (options checked, SIGTERM as Ctrl-C)."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from ..foreground import interrupt_on_sigterm, secured_from_env
from ..stack import StackError
from .command import YearOptions, run_visible, run_year
from .pacing import DEFAULT_MINUTES

MAX_MONTHS = 24  # months of arrivals; the follow-up adds 12 more


def run_year_visibly(args: argparse.Namespace) -> int:
    day_seconds = _within("--day-seconds", args.day_seconds, 0.001, 86400.0)
    interrupt_on_sigterm()
    options = YearOptions(seed=_seed(1 if args.seed is None else args.seed), speed=86400.0 / day_seconds)
    try:
        run_visible(args.run_dir / "year", options, secured=secured_from_env())
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    return 0


def cmd_year(args: argparse.Namespace) -> int:
    interrupt_on_sigterm()
    options = YearOptions(seed=_seed(args.seed), start=_start(args.start),
                          speed=None if args.speed is None else _within("--speed", args.speed, 1.0, 1e9),
                          minutes=_within("--minutes", args.minutes, 0.1, 1e6),
                          months=int(_within("--months", args.months, 1, MAX_MONTHS)), report_file=args.report)
    try:
        run_year(args.run_dir / "year", options, secured=secured_from_env())
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
        return 130
    return 0


def _within(option: str, value: float, low: float, high: float) -> float:
    """A number in [low, high] (not NaN, not infinite), else an error naming the option and the rule."""
    if not math.isfinite(value) or not low <= value <= high:
        raise StackError(f"{option} must be a number from {low:g} to {high:g}")
    return value


def _seed(value: int) -> int:
    if not 0 <= value < 2**32:
        raise StackError("--seed must be from 0 to 4294967295")
    return value


def _start(value: str | None) -> datetime | None:
    """The year's first instant: ISO 8601 with an offset, from 1971 to 9000 (the KPI report's range, with the
    follow-up)."""
    if value is None:
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise StackError("--start must be an ISO 8601 instant (e.g. 2026-09-01T00:00:00+01:00)") from None
    if start.tzinfo is None:
        raise StackError("--start needs an offset (e.g. 2026-09-01T00:00:00+01:00)")
    if not 1971 <= start.year <= 8997:
        raise StackError("--start must be from 1971 to 8997 (the KPI report's years, with the follow-up)")
    return start


def add_year_parser(sub: argparse._SubParsersAction[Any]) -> None:
    year = sub.add_parser("year", help="the seeds' year on a fresh stack on a simulated clock, then its KPI report")
    year.add_argument("--seed", type=int, default=1, help="the generated year's seed (default 1)")
    pace = year.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=None, help="business seconds per wall second")
    pace.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                      help="wall minutes for the year and its follow-up (default %(default)s)")
    year.add_argument("--start", default=None, help="the year's first instant, ISO 8601 with an offset "
                      "(default: the parameters' start)")
    year.add_argument("--months", type=int, default=12,
                      help=f"months of arrivals, 1 to {MAX_MONTHS} (default 12; then 12 of follow-up)")
    year.add_argument("--report", type=Path, default=None, help="also write the KPI report's JSON here")
    year.set_defaults(func=cmd_year)
