"""`frontdoor-stack year` and `run`: a wrong option is refused with the
option and the rule before anything starts (no stack, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdoor_stack.cli import build_parser
from frontdoor_stack.stack import StackError

REFUSED = [
    (["year", "--start", "foo"], "--start must be an ISO 8601 instant"),
    (["year", "--start", "2026-09-01"], "--start needs an offset"),
    (["year", "--start", "9999-12-31T00:00:00+00:00"], "--start must be from 1971 to 8997"),
    (["year", "--start", "1900-01-01T00:00:00+00:00"], "--start must be from 1971 to 8997"),
    (["year", "--speed", "-1"], "--speed must be a number from 1"),
    (["year", "--speed", "nan"], "--speed must be a number from 1"),
    (["year", "--minutes", "0"], "--minutes must be a number from 0.1"),
    (["year", "--minutes", "inf"], "--minutes must be a number from 0.1"),
    (["year", "--months", "0"], "--months must be a number from 1 to 24"),
    (["year", "--months", "1000000"], "--months must be a number from 1 to 24"),
    (["year", "--seed", "-5"], "--seed must be from 0 to 4294967295"),
    (["year", "--seed", str(2**64)], "--seed must be from 0 to 4294967295"),
    (["run", "--day-seconds", "nan"], "--day-seconds must be a number from 0.001 to 86400"),
    (["run", "--day-seconds", "0"], "--day-seconds must be a number from 0.001 to 86400"),
]


@pytest.mark.parametrize(("argv", "rule"), REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_a_wrong_option_is_refused_naming_it_before_anything_starts(argv: list[str], rule: str,
                                                                     tmp_path: Path) -> None:
    args = build_parser().parse_args(argv)
    args.run_dir = tmp_path  # where the stack would be laid out
    with pytest.raises(StackError) as refused:
        args.func(args)
    assert str(refused.value).startswith(rule)
    assert list(tmp_path.iterdir()) == []  # no stack was laid out
