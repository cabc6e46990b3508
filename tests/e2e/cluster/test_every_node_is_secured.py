"""Every node of the replicated cluster has the single broker's security
(tests/e2e/test_secured_kafka.py checks it there in full): each node's door
refuses a client without credentials, with TLS but no SASL, or with a wrong
password, and answers the right one; and the ACLs, applied once, hold on
every node (a service may not read a topic it does not consume, nor write one
it does not produce, whichever node leads the partition)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed, TopicAuthorizationFailedError
from aiokafka.protocol.metadata import MetadataRequest

from frontdoor_contracts.topics import CONTACTS_DA_INCIDENT_REPORTED, SCHOOLS_ENROLMENTS
from frontdoor_stack.kafka_cluster import KafkaCluster
from frontdoor_stack.stack import LocalStack

pytestmark = pytest.mark.e2e


async def attempt(port: int, **options: Any) -> None:
    conn = await create_conn("127.0.0.1", port, request_timeout_ms=5000, **options)
    try:
        await conn.send(MetadataRequest([]))
    finally:
        conn.close()


async def test_each_nodes_door_takes_only_a_known_principal_with_its_password(cluster_stack: LocalStack,
                                                                            cluster: KafkaCluster) -> None:
    access = cluster_stack.access
    assert access is not None
    context = access.admin.ssl_context()
    sasl = {"security_protocol": "SASL_SSL", "ssl_context": context, "sasl_mechanism": "SCRAM-SHA-512"}
    for node in cluster.nodes:
        with pytest.raises(KafkaConnectionError):
            await attempt(node.port)  # plaintext
        with pytest.raises(KafkaConnectionError):
            await attempt(node.port, security_protocol="SSL", ssl_context=context)  # TLS, no SASL
        with pytest.raises(SaslAuthenticationFailed):
            await attempt(node.port, sasl_plain_username="allocation", sasl_plain_password="not-its-password",
                          **sasl)
        await attempt(node.port, sasl_plain_username="allocation", sasl_plain_password=access.passwords["allocation"],
                      **sasl)  # the same door with the right password: answered


async def test_the_acls_hold_on_the_cluster(cluster_stack: LocalStack) -> None:
    access = cluster_stack.access
    assert access is not None
    reader = AIOKafkaConsumer(CONTACTS_DA_INCIDENT_REPORTED.name, bootstrap_servers=cluster_stack.bootstrap,
                              group_id="allocation", **access.connection("allocation").client_kwargs())
    with pytest.raises(TopicAuthorizationFailedError):
        await reader.start()
    await reader.stop()
    writer = AIOKafkaProducer(bootstrap_servers=cluster_stack.bootstrap, acks="all", enable_idempotence=True,
                              **access.connection("contacts").client_kwargs())
    await writer.start()
    try:
        for partition in range(SCHOOLS_ENROLMENTS.partitions):  # led by different nodes
            with pytest.raises(TopicAuthorizationFailedError):
                await writer.send_and_wait(SCHOOLS_ENROLMENTS.name, b"{}", key=b"100000", partition=partition)
    finally:
        await writer.stop()
