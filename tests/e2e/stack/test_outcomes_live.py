"""Done means: on the stack as `frontdoor-stack up` runs it, a short demo
stream (`frontdoor_stack.demo_feed.publish`, as `frontdoor-stack demo` runs
it: contacts, decisions, partner data about the demo's families and about
families known only from data, and the case worker allocating, offering and
closing the cases through the allocation API with the stack's coordinator
key) gives live outcome figures: `GET /v1/kpis` (an analyst key made with
`frontdoor-outcomes create-client --roles analyst`) shows contacts by
source, decisions, closures by category, families identified in data and
plans; `/metrics` has `frontdoor_outcomes_kpi_*` gauges with values; and
the contacts service matched the partner records to people (none refused)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from frontdoor_stack.demo_feed import DemoResult, publish
from frontdoor_stack.stack import LocalStack

pytestmark = pytest.mark.e2e
CONTACTS = 60  # ~150 partner records, 6 families known only from data, ~30 Early Help cases
SEED = 2026
GAUGE = re.compile(r'^(frontdoor_outcomes_kpi_\w+)(?:\{([^}]*)\})? ([-+0-9.eE]+|NaN)$', re.MULTILINE)


def url_of(stack: LocalStack, name: str) -> str:
    return next(f"http://127.0.0.1:{s.port}" for s in stack.services if s.name == name)


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    """`fetch()` until `done(answer)`; the last answer either way."""
    deadline = time.monotonic() + timeout
    answer = fetch()
    while not done(answer) and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = fetch()
    return answer


@pytest.fixture(scope="module")
def fed(stack: LocalStack) -> DemoResult:
    """The short demo, with a brisk case worker, once for this module."""
    worker = stack.case_worker()
    assert worker is not None, "the stack made no allocation coordinator key"
    brisk = dataclasses.replace(worker, every=0.5, pace=1.0, quiet_seconds=5.0, drain_seconds=60.0)
    return asyncio.run(publish(stack.bootstrap, count=CONTACTS, rate=20.0, seed=SEED, case_worker=brisk))


@pytest.fixture(scope="module")
def analyst(stack: LocalStack) -> dict[str, str]:
    outcomes = next(p for p in stack.processes if p.spec.name == "outcomes")
    return {"Authorization": f"Bearer {outcomes.create_client('e2e-analyst', 'analyst')}"}


def test_the_demo_sent_partner_data_and_the_case_worker_closed_cases(fed: DemoResult) -> None:
    assert fed.contacts == CONTACTS and fed.decisions > CONTACTS / 2
    assert fed.partner_records > CONTACTS and fed.data_families == CONTACTS // 10
    cases = fed.cases
    assert cases is not None and cases.finished and cases.failed == 0
    assert cases.allocated >= 5 and cases.closed_total >= 5 and len(cases.closed) >= 2


def test_the_contacts_service_matched_the_partner_records_to_people(stack: LocalStack, fed: DemoResult) -> None:
    def counts() -> dict[str, float]:
        text = httpx.get(f"{url_of(stack, 'contacts')}/metrics", timeout=10).text
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("frontdoor_contacts_partner_records_total{"):
                labels, value = line.rsplit(" ", 1)
                outcome = re.search(r'outcome="([^"]+)"', labels)
                if outcome:
                    found[outcome[1]] = found.get(outcome[1], 0.0) + float(value)
        return found

    found = poll(counts, lambda c: sum(c.values()) >= fed.partner_records)
    assert sum(found.values()) >= fed.partner_records
    assert found.get("dead_lettered", 0) == 0  # none refused: identifiers as the contacts gave them
    assert found.get("matched", 0) > 0  # records about the demo's own people found them


def test_the_kpis_show_live_figures(stack: LocalStack, fed: DemoResult, analyst: dict[str, str]) -> None:
    assert fed.cases is not None
    closed = fed.cases.closed_total

    def report() -> dict[str, Any]:
        answer = httpx.get(f"{url_of(stack, 'outcomes')}/v1/kpis", headers=analyst, timeout=10)
        assert answer.status_code == 200, answer.text
        kpis: dict[str, Any] = answer.json()
        return kpis

    kpis = poll(report, lambda k: k["contacts"]["total"] >= CONTACTS and k["closures"]["cases"] >= closed
                and k["decisions"]["total"] >= fed.decisions and k["families"]["identified"] >= 1
                and k["families"]["with_plans"] >= 1)
    contacts = kpis["contacts"]
    assert contacts["total"] >= CONTACTS
    assert sum(1 for figure in contacts["by_source"].values() if figure["numerator"] > 0) >= 5
    assert kpis["decisions"]["total"] >= fed.decisions and kpis["decisions"]["early_help"]["numerator"] > 0
    closures = kpis["closures"]
    assert closures["cases"] >= closed and closures["children"] > 0
    by_category = {name: f["numerator"] for name, f in closures["by_category_cases"].items() if f["numerator"]}
    assert sum(by_category.values()) == closures["cases"] and len(by_category) >= 2
    assert set(by_category) <= set(fed.cases.closed) | {"resolved_by_information_and_advice"}
    families = kpis["families"]
    assert families["identified"] >= 1 and families["identified_by_problem"] and families["with_plans"] >= 1
    assert kpis["spa_to_offer"]["offers"] >= fed.cases.offered
    assert kpis["lead_professionals"]["organisations"] >= 2


def test_the_kpi_gauges_on_metrics_have_values(stack: LocalStack, fed: DemoResult) -> None:
    def gauges() -> dict[str, float]:
        text = httpx.get(f"{url_of(stack, 'outcomes')}/metrics", timeout=10).text
        return {f"{name}{{{labels or ''}}}": float(value) for name, labels, value in GAUGE.findall(text)}

    found = poll(gauges, lambda g: any(k.startswith("frontdoor_outcomes_kpi_closure_outcome_children{") and v > 0
                                       for k, v in g.items()))
    positive = {name for name, value in found.items() if value > 0}

    def some(prefix: str) -> bool:
        return any(name.startswith(prefix) for name in positive)

    assert some("frontdoor_outcomes_kpi_contacts_by_source{")
    assert some("frontdoor_outcomes_kpi_early_help_conversion_ratio")
    assert some("frontdoor_outcomes_kpi_closure_outcome_children{")
    assert some('frontdoor_outcomes_kpi_families{stage="identified"')
    assert some("frontdoor_outcomes_kpi_lead_allocations{")
    # labels are categories, never a family, child or agency id
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", name) for name in found)
