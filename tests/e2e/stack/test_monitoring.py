"""Done means, for ops staff: a real Prometheus (Debian's, from PATH) scrapes
the stack as `frontdoor-stack up` runs it, with every rule loaded and
Alertmanager behind it; after some traffic every rule evaluates without
error, the dashboards' queries return data wherever the services have data,
every name the rules and dashboards read is one the services or the
broker (its JMX exporter agent, job "kafka", up) really export (scraped
here, not listed), `promtool check metrics` passes on each
service's /metrics, and a poison record on frontdoor.contacts.v1 fires the
dead-letter alert and pages through Alertmanager's paging route.

Last, the notifications worker killed with SIGKILL as fast as its API
restarts it makes FrontDoorWorkerDown pending (its real `for` kept), and
the worker comes back once left alone.

Waits are short through a test-only configuration (scrape and evaluation
every second, every other alert's `for` removed, Alertmanager sending at
once); the rules' expressions are the checked-in ones."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from monitoring_live import POISON, PrometheusAPI, Sink, exported_names, police_da_contact, poll, publish

from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_STEP_DOWNS, SCHOOLS_ENROLMENTS
from frontdoor_stack.case_worker import plan_case
from frontdoor_stack.demo_feed import publish as publish_demo
from frontdoor_stack.kafka_broker import free_port
from frontdoor_stack.monitoring import build, configs
from frontdoor_stack.monitoring.boards import DASHBOARDS
from frontdoor_stack.monitoring.local import LocalMonitoring
from frontdoor_stack.monitoring.promql import metric_names, selectors
from frontdoor_stack.monitoring.rules import Record, rules_document, to_yaml
from frontdoor_stack.seed import WEBHOOK
from frontdoor_stack.stack import LocalStack, coordinator_key

pytestmark = pytest.mark.e2e
CLOUDEVENT = [("content-type", b"application/cloudevents+json")]
# Metrics the rules or dashboards may name before a service exports them (the kit's worker_up, group lag and
# request metrics were here until they landed): a name put here must leave once it is exported (the names test
# fails to say so).
COMING: frozenset[str] = frozenset()
# promtool wants seconds, not days: names in the unit of the 10-day target, in allocation's metrics.py and outcomes'
# readmodel/gauges.py (not this test's to rename; raised in issue 17). Remove each line once its metric is renamed.
KNOWN_LINT = frozenset({
    'frontdoor_allocation_spa_to_offer_days use base unit "seconds" instead of "days"',
    'frontdoor_outcomes_kpi_spa_to_offer_days use base unit "seconds" instead of "days"',
    'frontdoor_outcomes_kpi_spa_to_offer_days_ratio use base unit "seconds" instead of "days"',
    'frontdoor_outcomes_kpi_spa_to_offer_median_days use base unit "seconds" instead of "days"',
})
# A route of each service that wants a key (asked without one: api_rejections_total shows).
REFUSED = {"contacts": "/v1/contacts/00000000-0000-0000-0000-000000000000", "allocation": "/v1/cases",
           "notifications": "/v1/inbox", "outcomes": "/v1/kpis"}
# A service's own topic for a poison record, so each one's dead-letter counter shows (contacts': the test's own).
POISONED = {"allocation": FRONTDOOR_STEP_DOWNS.name, "notifications": SCHOOLS_ENROLMENTS.name,
            "outcomes": "contacts.recorded.v1"}


def url_of(stack: LocalStack, name: str) -> str:
    return next(f"http://127.0.0.1:{s.port}" for s in stack.services if s.name == name)


def scrape(stack: LocalStack) -> dict[str, str]:
    return {s.name: httpx.get(f"http://127.0.0.1:{s.port}/metrics", timeout=10).text for s in stack.services}


def broker_metrics(stack: LocalStack) -> str:
    assert stack.broker is not None
    return httpx.get(stack.broker.metrics_url, timeout=10).text


def allocate_and_offer_one_case(stack: LocalStack) -> None:
    """A case the demo's Early Help decisions opened: allocated and offered (never closed, so no closure
    category is added to the figures the outcomes test reads), so offers and allocations show."""
    key = coordinator_key(stack.credentials)
    assert key is not None
    with httpx.Client(base_url=url_of(stack, "allocation"), headers={"Authorization": f"Bearer {key}"},
                      timeout=10) as client:
        agenda = poll(lambda: client.get("/v1/agenda").json().get("cases", []), bool)
        assert agenda, "no Early Help case opened"
        case_id = str(agenda[0]["case_id"])
        plan = plan_case(case_id, seed=17)
        moved = client.post(f"/v1/cases/{case_id}/allocation", json={
            "lead_agency_id": plan.lead_agency_id, "agency_kind": plan.agency_kind.value,
            "lead_professional_ref": plan.lead_professional_ref, "at_meeting": plan.at_meeting})
        assert moved.status_code == 200, moved.text
        assert client.post(f"/v1/cases/{case_id}/offer", json={}).status_code == 200


def deliver_and_acknowledge_a_da_notification(stack: LocalStack) -> None:
    assert stack.seeded is not None and stack.school_key is not None
    school = stack.seeded.demo_school()
    assert school.channel == WEBHOOK
    reference = f"MON/{random.randrange(10**7):07d}/26"
    asyncio.run(publish(stack.bootstrap, [(FRONTDOOR_CONTACTS.name, police_da_contact(school.urn, reference),
                                           CLOUDEVENT)]))
    headers = {"Authorization": f"Bearer {stack.school_key.api_key}"}
    inbox = f"{url_of(stack, 'notifications')}/v1/inbox"

    def delivered() -> dict[str, Any] | None:
        items = httpx.get(inbox, headers=headers, timeout=10).json()
        return next((i for i in items if i["notice"]["police_reference"] == reference and i["delivered_at"]), None)

    item = poll(delivered, bool)
    assert item, "the DA notification was not delivered"
    acknowledged = httpx.post(f"{inbox}/{item['notification_id']}/acknowledgement", headers=headers, timeout=10)
    assert acknowledged.status_code == 200, acknowledged.text


@pytest.fixture(scope="module")
def traffic(stack: LocalStack) -> dict[str, str]:
    """A short demo stream, a case offered, a DA notification delivered and acknowledged, a request without a
    key to each service and a poison record for each but contacts; /metrics once each shows it."""
    asyncio.run(publish_demo(stack.bootstrap, count=12, rate=0.0, seed=17))
    allocate_and_offer_one_case(stack)
    deliver_and_acknowledge_a_da_notification(stack)
    for service, route in REFUSED.items():
        assert httpx.get(f"{url_of(stack, service)}{route}", timeout=10).status_code == 401
    asyncio.run(publish(stack.bootstrap, [(topic, POISON, []) for topic in POISONED.values()]))
    wanted = {service: f"frontdoor_{service}_dead_lettered_total" for service in POISONED}
    return poll(lambda: scrape(stack), lambda m: all(name in m[s] for s, name in wanted.items()))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def prometheus(stack: LocalStack, traffic: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[tuple[PrometheusAPI, Sink]]:
    root: Path = tmp_path_factory.mktemp("monitoring")
    broker = stack.broker
    assert broker is not None
    fast = root / "rules.yml"
    fast.write_text(to_yaml(rules_document(build.rule_groups(), for_="0s", keep=frozenset({"FrontDoorWorkerDown"}))))
    with Sink().running() as sink:
        monitor = LocalMonitoring(root, {s.name: f"127.0.0.1:{s.port}" for s in stack.services}, free_port(),
                                  free_port(), rule_files=[fast], interval="1s", kafka=broker.metrics_address,
                                  alertmanager=configs.alertmanager_config(sink.url("/page"), sink.url("/ticket"),
                                                                           fast=True))
        monitor.start()
        try:
            api = PrometheusAPI(monitor.prometheus_url)
            # every service scraped a few times, and the rules evaluated since
            poll(lambda: api.query('count(count_over_time(up{job="frontdoor"}[1m]) >= 4) == 4'), bool)
            time.sleep(2.5)
            yield api, sink
        finally:
            monitor.stop()


@pytest.fixture(scope="module")
def contacts_poisoned(stack: LocalStack, prometheus: tuple[PrometheusAPI, Sink]) -> list[dict[str, Any]]:
    """A poison record on frontdoor.contacts.v1, Prometheus watching; the contacts dead-letter alerts before it."""
    api, _ = prometheus
    poll(lambda: api.alerts(alertname="FrontDoorDeadLettered", service="notifications"), bool)  # evaluated
    before = api.alerts(alertname="FrontDoorDeadLettered", service="contacts")
    asyncio.run(publish(stack.bootstrap, [(FRONTDOOR_CONTACTS.name, POISON, CLOUDEVENT)]))
    return before


def test_a_poison_record_fires_the_dead_letter_alert_and_pages(
        prometheus: tuple[PrometheusAPI, Sink], contacts_poisoned: list[dict[str, Any]]) -> None:
    api, sink = prometheus
    theirs = api.alerts(alertname="FrontDoorDeadLettered", service="notifications")
    assert theirs and theirs[0]["labels"]["severity"] == "page"  # the earlier poison record, on the DA path
    assert contacts_poisoned == []  # nothing dead-lettered on contacts before

    firing = poll(lambda: api.alerts("firing", alertname="FrontDoorDeadLettered", service="contacts"), bool)
    assert firing, "the dead-letter alert did not fire"
    assert firing[0]["labels"] | {"instance": "-"} == {
        "alertname": "FrontDoorDeadLettered", "severity": "page", "service": "contacts", "job": "frontdoor",
        "topic": FRONTDOOR_CONTACTS.name, "reason": "not_json", "instance": "-"}
    assert firing[0]["annotations"]["runbook_url"].endswith("/docs/runbooks/FrontDoorDeadLettered.md")
    # the rules here fire without their "for", so a stall seen for one scrape may page beside it
    paged = poll(lambda: [a for a in sink.alerts("/page") if a["labels"].get("service") == "contacts"
                          and a["labels"]["alertname"] == "FrontDoorDeadLettered"], bool)
    assert paged and paged[0]["status"] == "firing" and paged[0]["labels"]["topic"] == FRONTDOOR_CONTACTS.name
    assert not [a for a in sink.alerts("/ticket") if a["labels"].get("service") == "contacts"
                and a["labels"]["alertname"] == "FrontDoorDeadLettered"]


def test_the_broker_is_scraped_up_and_carries_the_traffic(stack: LocalStack,
                                                         prometheus: tuple[PrometheusAPI, Sink]) -> None:
    api, _ = prometheus
    assert stack.broker is not None
    up = poll(lambda: api.query('up{job="kafka"} == 1'), bool)
    assert [sample["metric"]["instance"] for sample in up] == [stack.broker.metrics_address]
    assert api.query("kafka_controller_active_controllers == 1")
    assert api.query("kafka_server_bytes_in_total > 0") and api.query("kafka_server_bytes_out_total > 0")
    assert api.query("kafka_controller_offline_partitions == 0")
    assert api.alerts(alertname="FrontDoorKafkaBrokerDown") == []
    metrics = broker_metrics(stack)
    assert "client" not in metrics.lower()  # no client id in any name or label


def test_every_rule_is_loaded_and_evaluates_without_error(prometheus: tuple[PrometheusAPI, Sink]) -> None:
    api, _ = prometheus
    rules = api.rules()
    assert len(rules) == sum(len(group.rules) for group in build.rule_groups())
    broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok" or r.get("lastError")]
    assert broken == []


def test_the_dashboards_return_data_wherever_the_services_have_data(prometheus: tuple[PrometheusAPI, Sink]) -> None:
    api, _ = prometheus
    checked, empty = 0, []
    for dashboard in DASHBOARDS:
        for expr in dashboard.queries():
            if all(api.has_series(selector) for selector in selectors(expr)):
                checked += 1
                if not api.query(expr):
                    empty.append(expr)
    assert empty == []
    assert checked >= 40  # most panels have data after the traffic (the rest wait for the coming metrics)


def test_the_rules_and_dashboards_name_only_what_the_services_export(
        stack: LocalStack, traffic: dict[str, str], contacts_poisoned: list[dict[str, Any]]) -> None:
    # the traffic's refusals and poison make the names that exist only once something happened (in any order)
    scraped = poll(lambda: scrape(stack), lambda m: "frontdoor_contacts_dead_lettered_total" in m["contacts"])
    scraped["kafka"] = broker_metrics(stack)  # the broker's JMX exporter, live
    exported = set().union(*(exported_names(text) for text in scraped.values()))
    recorded = {rule.name for group in build.rule_groups() for rule in group.rules if isinstance(rule, Record)}
    queries = [rule.expr for group in build.rule_groups() for rule in group.rules]
    queries += [expr for dashboard in DASHBOARDS for expr in dashboard.queries()]
    named = {name for expr in queries for name in metric_names(expr)} - recorded - {"up"}
    assert sorted(named - exported - COMING) == [], "names no service exports"
    assert COMING & exported == set(), "exported now: remove from COMING"


def test_promtool_check_metrics_passes_on_every_services_metrics(stack: LocalStack, traffic: dict[str, str]) -> None:
    for service, text in scrape(stack).items():
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=60, check=False)
        problems = {line.strip() for line in (checked.stdout + checked.stderr).splitlines() if line.strip()}
        assert checked.returncode in (0, 3), (service, checked.stdout, checked.stderr)  # 3: lint problems only
        assert problems <= KNOWN_LINT, (service, problems - KNOWN_LINT)
        assert "frontdoor_outcomes_period_count" not in text


def workers_of(parent: int) -> list[int]:
    """The `consume` processes whose parent is `parent` (a service's `serve`)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent \
                    and b"consume" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_worker_killed_again_and_again_makes_its_down_alert_pending_then_comes_back(
        stack: LocalStack, prometheus: tuple[PrometheusAPI, Sink]) -> None:
    api, _ = prometheus
    serve = next(p for p in stack.processes if p.spec.name == "notifications").process
    assert serve is not None and workers_of(serve.pid), "no notifications worker to kill"
    assert api.alerts(alertname="FrontDoorWorkerDown") == []
    pending: list[dict[str, Any]] = []
    deadline = time.monotonic() + 45
    while not pending and time.monotonic() < deadline:
        for pid in workers_of(serve.pid):  # each one the API restarts, as soon as it shows
            os.kill(pid, signal.SIGKILL)
        pending = api.alerts(alertname="FrontDoorWorkerDown", service="notifications")
        time.sleep(0.2)
    assert pending, "the worker-down alert did not go pending"
    assert pending[0]["state"] == "pending" and pending[0]["labels"]["severity"] == "page"  # for: 1m
    assert api.query("frontdoor_notifications_worker_up == 0")
    back = poll(lambda: api.query("frontdoor_notifications_worker_up == 1"), bool, timeout=90)
    assert back, "the worker did not come back"
    ready = poll(lambda: httpx.get(f"{url_of(stack, 'notifications')}/readyz", timeout=5).status_code, 200 .__eq__,
                 timeout=90)
    assert ready == 200
