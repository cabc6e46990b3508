"""The Prometheus and Alertmanager configurations: the checked-in ones for
docker compose (deploy/monitoring/), and the local stack's, made from its
service list and ports (`local`).

Alertmanager routes `severity=page` to the paging webhook and everything
else to the ticket webhook. The checked-in webhooks are placeholders on a
loopback port where nothing listens (deploy/monitoring/README.md says what
to put there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..services import SERVICES
from .rules import PAGE, TICKET

JOB = "frontdoor"
KAFKA_JOB = "kafka"  # the broker's JMX exporter agent (deploy/kafka/jmx-exporter.yaml)
PAGE_WEBHOOK = "http://127.0.0.1:9/frontdoor/page"  # placeholder: the on-call paging service's webhook
TICKET_WEBHOOK = "http://127.0.0.1:9/frontdoor/ticket"  # placeholder: the service desk's webhook
COMPOSE_ALERTMANAGER = "alertmanager:9093"
COMPOSE_RULE_FILES = ("rules/*.yml",)


def compose_targets() -> dict[str, str]:
    """Each service at its compose name and port."""
    return {spec.name: f"{spec.name}:{spec.port}" for spec in SERVICES}


def prometheus_config(targets: Mapping[str, str], alertmanager: str, rule_files: Sequence[str],
                      interval: str = "15s", kafka: str | None = None) -> dict[str, Any]:
    """Scrape each service's /metrics (`targets`: service name -> host:port) as job `frontdoor` with a
    `service` label, and the brokers' (`kafka`: host:port, comma-separated for a cluster) as job `kafka` when
    given; evaluate `rule_files` and send alerts to `alertmanager` (host:port)."""
    brokers = [{"job_name": KAFKA_JOB, "metrics_path": "/metrics",
                "static_configs": [{"targets": kafka.split(",")}]}] if kafka else []
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "external_labels": {"platform": "frontdoor"}},
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "rule_files": list(rule_files),
        "scrape_configs": [{
            "job_name": JOB,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [address], "labels": {"service": name}}
                               for name, address in targets.items()],
        }, *brokers],
    }


def alertmanager_config(page_url: str = PAGE_WEBHOOK, ticket_url: str = TICKET_WEBHOOK, *,
                        fast: bool = False) -> dict[str, Any]:
    """Pages and tickets, grouped per alert and service; `fast` (tests) sends at once."""
    wait, interval = ("0s", "1s") if fast else ("30s", "5m")

    def receiver(name: str, url: str) -> dict[str, Any]:
        return {"name": name, "webhook_configs": [{"url": url, "send_resolved": True}]}

    return {
        "route": {
            "receiver": TICKET,
            "group_by": ["alertname", "service"],
            "group_wait": wait,
            "group_interval": interval,
            "repeat_interval": "4h",
            "routes": [
                {"matchers": [f'severity="{PAGE}"'], "receiver": PAGE, "group_wait": "0s" if fast else "10s",
                 "repeat_interval": "1h"},
                {"matchers": [f'severity="{TICKET}"'], "receiver": TICKET, "repeat_interval": "24h"},
            ],
        },
        "inhibit_rules": [
            # a service that is down says it all: its other alerts wait
            {"source_matchers": ['alertname="FrontDoorServiceDown"'],
             "target_matchers": ['alertname!="FrontDoorServiceDown"'], "equal": ["service"]},
            # a dead worker neither consumes nor publishes
            {"source_matchers": ['alertname="FrontDoorWorkerDown"'],
             "target_matchers": ['alertname=~"FrontDoorConsumer.*|FrontDoorOutboxNotPublishing"'],
             "equal": ["service"]},
            # the page about the term dates makes the ticket about them needless
            {"source_matchers": ['alertname="TermDatesRunningOut"', f'severity="{PAGE}"'],
             "target_matchers": ['alertname="TermDatesRunningOut"', f'severity="{TICKET}"'], "equal": ["service"]},
        ],
        "receivers": [receiver(PAGE, page_url), receiver(TICKET, ticket_url)],
    }
