"""docker-compose.yml is for people with Docker; `frontdoor-stack` is what
runs here. They must describe the same platform: services, ports,
environment, broker settings, and topics from the one declaration."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
import yaml

from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.topics import DAY_MS, all_topics
from frontdoor_stack.kafka_broker import KafkaBroker
from frontdoor_stack.services import SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"  # the broker the local stack fetches and runs
MAVEN = "{http://maven.apache.org/POM/4.0.0}"
INFRASTRUCTURE = {"kafka", "topics"}
# Broker settings the local runner and the compose broker must agree on.
SHARED_BROKER_SETTINGS = (
    "process.roles",
    "node.id",
    "auto.create.topics.enable",
    "group.initial.rebalance.delay.ms",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "default.replication.factor",
    "min.insync.replicas",
    "share.coordinator.state.topic.replication.factor",
    "message.max.bytes",
    "replica.fetch.max.bytes",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def internal_bootstrap(compose: dict[str, Any]) -> str:
    command = compose["services"]["topics"]["command"]
    return str(command[command.index("--bootstrap") + 1])


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_has_the_stack_port_and_env_names(compose: dict[str, Any], spec: ServiceSpec) -> None:
    service = compose["services"][spec.name]
    assert service["ports"] == [f"{spec.port}:{spec.port}"]
    env = service["environment"]
    assert set(env) == set(spec.env_names)
    assert env[f"{spec.prefix}_PORT"] == str(spec.port)
    assert env[f"{spec.prefix}_HOST"] == "0.0.0.0"
    assert env[f"{spec.prefix}_KAFKA_BOOTSTRAP"] == internal_bootstrap(compose)
    assert env[f"{spec.prefix}_DATABASE_URL"].endswith(f"/{spec.name}.db")


def test_compose_names_exactly_the_stack_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == INFRASTRUCTURE | {spec.name for spec in SERVICES}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_image_installs_its_own_package_and_waits_for_topics(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    service = compose["services"][spec.name]
    build = service["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert build["args"]["SERVICE"] == spec.name
    assert (ROOT / "services" / spec.name / "pyproject.toml").is_file()
    assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_topics_are_created_by_the_shared_tool(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert (ROOT / topics["build"]["context"] / topics["build"]["dockerfile"]).is_file()
    dockerfile = (ROOT / topics["build"]["context"] / topics["build"]["dockerfile"]).read_text()
    assert 'ENTRYPOINT ["frontdoor-stack"]' in dockerfile
    assert topics["command"][0] == "topics"
    assert internal_bootstrap(compose).startswith("kafka:")
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_no_topic_name_is_hard_coded_differently(compose: dict[str, Any]) -> None:
    declared = {spec.name for spec in all_topics()}
    mentioned = set(re.findall(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+\.v\d+(?:\.dlq)?", COMPOSE_FILE.read_text()))
    assert mentioned <= declared


def local_broker_settings(workdir: Path) -> dict[str, str]:
    """The properties the local runner starts its broker with (the template, filled in)."""
    broker = KafkaBroker(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    broker.write_properties()
    return dict(
        line.split("=", 1)
        for line in broker.properties_file.read_text().splitlines()
        if line and not line.startswith("#")
    )


def test_broker_settings_match_the_local_runner(compose: dict[str, Any], tmp_path: Path) -> None:
    local = local_broker_settings(tmp_path)
    env = compose["services"]["kafka"]["environment"]
    for setting in SHARED_BROKER_SETTINGS:
        assert str(env["KAFKA_" + setting.upper().replace(".", "_")]) == local[setting], setting


def local_kafka_version() -> str:
    """The Kafka release the local stack runs: the kafka_2.13 artifact deploy/kafka/pom.xml pins."""
    pom = ElementTree.parse(KAFKA_POM).getroot()
    broker = next(d for d in pom.iter(f"{MAVEN}dependency") if d.findtext(f"{MAVEN}artifactId") == "kafka_2.13")
    version = broker.findtext(f"{MAVEN}version") or ""
    declared = pom.find(f"{MAVEN}properties")
    properties = {} if declared is None else {p.tag.removeprefix(MAVEN): p.text or "" for p in declared}
    return re.sub(r"\$\{([^}]+)\}", lambda m: properties[m.group(1)], version)


def test_compose_runs_the_same_kafka_release_as_the_local_stack(compose: dict[str, Any]) -> None:
    version = local_kafka_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"


def test_one_record_limit_for_producers_topics_and_both_brokers(compose: dict[str, Any], tmp_path: Path) -> None:
    """A record a producer takes (max_request_size = MAX_RECORD_BYTES) fits every topic and either broker."""
    limit = str(MAX_RECORD_BYTES)
    local = local_broker_settings(tmp_path)
    env = compose["services"]["kafka"]["environment"]
    assert local["message.max.bytes"] == env["KAFKA_MESSAGE_MAX_BYTES"] == limit
    assert local["replica.fetch.max.bytes"] == env["KAFKA_REPLICA_FETCH_MAX_BYTES"] == limit
    for spec in all_topics():
        assert spec.topic_configs(DAY_MS)["max.message.bytes"] == limit, spec.name
        assert spec.topic_configs(DAY_MS, min_insync_replicas=2)["max.message.bytes"] == limit, spec.name
