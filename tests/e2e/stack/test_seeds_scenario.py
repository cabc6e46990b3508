"""Done means (issue 10): on the stack as `frontdoor-stack up` runs it, the
seeds' scenario, published by `frontdoor-stack seeds` (Wokingham's 2015
closure table, Reading's 96% / 88% not re-referred; history dated 2014-17,
published by a plain producer as the allocation and contacts services'
events) is reproduced by the outcomes service's `GET /v1/kpis` to the
count, so to the percent; and a second run counts nothing twice."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time

import httpx
import pytest

from frontdoor_contracts.topics import ALLOCATION_CASE_CLOSED, CONTACTS_DECIDED
from frontdoor_stack.seeds_scenario import (
    READING,
    WOKINGHAM,
    ReportClient,
    check,
    printed_percents,
    publish,
    reported_percents,
    scenario,
)
from frontdoor_stack.stack import LocalStack, key_with_role

pytestmark = pytest.mark.e2e


def replayed(outcomes_url: str) -> dict[str, float]:
    """frontdoor_outcomes_replayed_total by topic: records seen again and skipped by their event id."""
    text = httpx.get(f"{outcomes_url}/metrics", timeout=10).text
    return {topic: float(value) for topic, value in
            re.findall(r'^frontdoor_outcomes_replayed_total\{topic="([^"]+)"\} ([0-9.eE+]+)$', text, re.MULTILINE)}


def test_the_seeds_closure_figures_are_the_live_reports_and_a_second_run_counts_nothing_twice(
    stack: LocalStack,
) -> None:
    outcomes_url = next(f"http://127.0.0.1:{s.port}" for s in stack.services if s.name == "outcomes")
    key = key_with_role(stack.credentials, "outcomes", "manager")
    assert key is not None, "the stack made no outcomes key"
    client = ReportClient(outcomes_url, key)
    records = scenario()
    ran = subprocess.run([sys.executable, "-m", "frontdoor_stack.cli", "--run-dir", str(stack.root), "seeds",
                          "--bootstrap", stack.bootstrap, "--outcomes-url", outcomes_url, "--outcomes-key", key],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"published {len(records)} events" in ran.stdout and "every figure is the seeds'" in ran.stdout

    found = check(client, records, timeout=10)
    assert [(row.figure, row.reported) for row in found if not row.matches] == []
    assert reported_percents(found) == printed_percents() == [61, 10, 7, 20, 5, 3, 96, 88]
    before = (client.report(WOKINGHAM), client.report(READING))
    closures = before[0]["closures"]
    assert (closures["child_closures"], closures["children"]) == (1464, 1366)

    seen = replayed(outcomes_url)
    assert asyncio.run(publish(stack.bootstrap, records)) == len(records)
    again = {ALLOCATION_CASE_CLOSED.name: sum(1 for r in records if r.topic == ALLOCATION_CASE_CLOSED.name),
             CONTACTS_DECIDED.name: sum(1 for r in records if r.topic == CONTACTS_DECIDED.name)}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = replayed(outcomes_url)
        if all(now.get(topic, 0) - seen.get(topic, 0) >= count for topic, count in again.items()):
            break
        time.sleep(1)
    now = replayed(outcomes_url)
    assert all(now.get(topic, 0) - seen.get(topic, 0) >= count for topic, count in again.items())  # seen, skipped

    def without_generated_at(report: dict[str, object]) -> dict[str, object]:
        return {name: value for name, value in report.items() if name != "generated_at"}

    after = (client.report(WOKINGHAM), client.report(READING))
    assert [without_generated_at(r) for r in after] == [without_generated_at(r) for r in before]
