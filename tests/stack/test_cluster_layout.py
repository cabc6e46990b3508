"""The replicated cluster's layout, without starting it: each node's
properties (its id, the quorum of all three, the replication of the internal
topics and the topics' default, the single broker's security on each), the
stack's ports and bootstrap for one broker and for three, the pid files'
names, and `--brokers` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdoor_stack import kafka_access
from frontdoor_stack.cli import build_parser
from frontdoor_stack.kafka_broker import KafkaBroker
from frontdoor_stack.kafka_cluster import KafkaCluster, replication_settings
from frontdoor_stack.pid_files import kafka_name, kafka_names, write_pid
from frontdoor_stack.stack import LocalStack

PORTS = [(19092, 19093), (19094, 19095), (19096, 19097)]


def properties(broker: KafkaBroker) -> dict[str, str]:
    broker.workdir.mkdir(parents=True, exist_ok=True)  # as `launch` makes it
    broker.write_properties()
    lines = [line for line in broker.properties_file.read_text().splitlines() if "=" in line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def test_each_node_is_broker_and_controller_of_one_quorum_of_three(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, PORTS)
    for node_id, node in enumerate(cluster.nodes, 1):
        found = properties(node)
        assert found["node.id"] == str(node_id) and found["process.roles"] == "broker,controller"
        assert found["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
        port, controller = PORTS[node_id - 1]
        assert found["listeners"] == f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"
        assert node.data_dir == tmp_path / f"node-{node_id}" / "data"
        for key, value in replication_settings(3).items():
            assert found[key] == value, key
        assert found["min.insync.replicas"] == "2" and found["offsets.topic.replication.factor"] == "3"
    assert cluster.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"


def test_the_single_broker_keeps_its_own_settings(tmp_path: Path) -> None:
    found = properties(KafkaBroker(tmp_path, port=19092, controller_port=19093))
    assert found["node.id"] == "1" and found["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert found["min.insync.replicas"] == "1" and found["offsets.topic.replication.factor"] == "1"


def test_a_secured_cluster_has_the_single_brokers_security_on_every_node(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, PORTS, secured=True)
    access = kafka_access.prepare(tmp_path)
    for node in cluster.nodes:
        node.access = access
        found = properties(node)
        for key, value in kafka_access.broker_settings(access, node.port, node.controller_port).items():
            assert found[key] == value, key
        assert found["allow.everyone.if.no.acl.found"] == "false"
        assert found["controller.quorum.voters"].count("@") == 3 and found["default.replication.factor"] == "3"
    assert kafka_access.load(tmp_path) == access  # `demo` and `seeds` find the cluster's principals


def test_the_stack_places_one_broker_or_three() -> None:
    assert LocalStack().bootstrap == "127.0.0.1:9092"
    three = LocalStack(brokers=3)
    assert three.kafka_ports() == [(9092, 9093), (9094, 9095), (9096, 9097)]
    assert three.bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert isinstance(three.new_broker(), KafkaCluster) and isinstance(LocalStack().new_broker(), KafkaBroker)


def test_down_finds_every_nodes_pid_file(tmp_path: Path) -> None:
    for node_id in (1, 2, 3):
        write_pid(tmp_path, kafka_name(node_id), 999_999_999)
    assert kafka_names(tmp_path) == ["kafka", "kafka-1", "kafka-2", "kafka-3"]


def test_brokers_is_one_or_three(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["up"]).brokers == 1
    assert build_parser().parse_args(["up", "--brokers", "3"]).brokers == 3
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--brokers", "2"])
    assert "--brokers" in capsys.readouterr().err
