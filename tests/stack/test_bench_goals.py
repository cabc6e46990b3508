"""The bench's goals table judges issue 20's ratios against the anchors of the same run, and the 1M rebuild
only when the run rebuilt a million records: never met by a part that did not run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from frontdoor_stack.bench.context import Sizes
from frontdoor_stack.bench.report_goals import MET, NOT_MEASURED, NOT_MET, goals
from frontdoor_stack.bench.results import Results

SIZES = Sizes(contacts=100, decisions=100, duration=1, time_cap=10)


def rows(results: Results) -> dict[str, tuple[str, str]]:
    return {goal: (figure, verdict) for goal, figure, verdict in goals(results)}


def http(per_second: float, p99_ms: float) -> Any:
    return SimpleNamespace(per_second=per_second, p99_ms=p99_ms, timeouts=0)


def test_the_ratios_are_to_the_anchors_of_the_same_run() -> None:
    results = Results(sizes=SIZES)
    results.bare_loop = SimpleNamespace(per_second=1000.0)  # type: ignore[assignment]
    results.allocation = SimpleNamespace(per_second=600.0, lost=0, duplicates=0, complete=True)  # type: ignore[assignment]
    results.bare_http = (http(4000, 20), http(500, 25))
    results.contacts_http = SimpleNamespace(closed=http(2000, 90), fixed=http(480, 60), lost=0, duplicates=0,
                                            complete=True)  # type: ignore[assignment]
    found = rows(results)
    assert found["allocation ≥ 50% of the bare loop"][1] == MET
    assert found["contacts HTTP ≥ 70% of bare FastAPI (req/s at 64 connections)"][1] == NOT_MET
    assert found["contacts HTTP p99 ≤ 2× bare FastAPI's at the fixed rate"] == ("2.4×", NOT_MET)


def test_the_rebuild_is_judged_only_at_a_million_records() -> None:
    results = Results(sizes=SIZES)
    results.outcomes_rebuild = SimpleNamespace(events=100_000, seconds=20.0, peak_rss_mb=200.0)  # type: ignore[assignment]
    assert rows(results)["outcomes rebuild of 1M records < 5 min"] == ("–", NOT_MEASURED)
    results.outcomes_rebuild = SimpleNamespace(events=1_000_000, seconds=290.0, peak_rss_mb=1100.0)  # type: ignore[assignment]
    found = rows(results)
    assert found["outcomes rebuild of 1M records < 5 min"] == ("4.8 min", MET)
    assert found["outcomes rebuild of 1M records < 1 GB resident"] == ("1,100 MB", NOT_MET)
    assert rows(Results(sizes=SIZES))["allocation ≥ 50% of the bare loop"][1] == NOT_MEASURED
