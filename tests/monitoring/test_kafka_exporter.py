"""The broker's JMX exporter, before anything runs: its configuration reads
only the MBeans ops need and labels by request type, API version, error
code, topic and partition (never a client id, a principal or an address);
the broker's JVM gets the agent on its loopback metrics port; and the
Prometheus configuration for compose has no broker job (compose's broker
runs without the agent: deploy/monitoring/README.md). That the names the
rules and dashboards read are really exported is checked live in
tests/e2e/stack/test_monitoring.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from frontdoor_stack.kafka_broker import AGENT_CONFIG, KafkaBroker, KafkaBrokerError
from frontdoor_stack.monitoring.build import monitoring_dir
from frontdoor_stack.monitoring.configs import KAFKA_JOB
from frontdoor_stack.paths import kafka_deploy_dir

BOUNDED_LABELS = {"request", "version", "error", "topic", "partition"}


def exporter_config() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((kafka_deploy_dir() / AGENT_CONFIG).read_text())
    return loaded


def test_the_exporter_reads_few_beans_and_labels_only_bounded_things() -> None:
    config = exporter_config()
    beans = config["includeObjectNames"]
    assert isinstance(beans, list) and beans and len(beans) <= 10
    assert not any(re.search(r"client|user|principal|listener|networkProcessor", bean, re.I) for bean in beans)
    rules = config["rules"]
    assert isinstance(rules, list)
    for rule in rules:
        assert rule["name"].startswith("kafka_") and rule["type"] in ("GAUGE", "COUNTER"), rule
        assert set(rule.get("labels", {})) <= BOUNDED_LABELS, rule
        assert "$" not in rule["name"], "names spelled out, not made from a bean's name"


def test_the_broker_runs_the_agent_on_its_loopback_metrics_port(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path / "kafka", cache_dir=tmp_path / "cache", metrics_port=23456)
    assert broker.metrics_address == "127.0.0.1:23456"
    assert broker.metrics_url == "http://127.0.0.1:23456/metrics"
    with pytest.raises(KafkaBrokerError, match="JMX exporter agent"):
        broker.agent_option()  # nothing fetched into this cache
    broker.agent_dir.mkdir(parents=True)
    jar = broker.agent_dir / "jmx_prometheus_javaagent-1.0.1.jar"
    jar.touch()
    assert broker.agent_option() == f"-javaagent:{jar}=127.0.0.1:23456:{kafka_deploy_dir() / AGENT_CONFIG}"
    assert KafkaBroker(tmp_path / "other").metrics_port != 0  # a free port unless one is given


def test_the_compose_configuration_scrapes_no_broker() -> None:
    config = yaml.safe_load((monitoring_dir() / "prometheus" / "prometheus.yml").read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == ["frontdoor"]
    assert KAFKA_JOB == "kafka"
