"""On the single embedded broker (`frontdoor-stack up`, the default), every
declared topic is what the declarations say for one broker: its partitions,
one replica of every partition, each declared config with
min.insync.replicas=1 (tests/e2e/cluster/ checks the same on three)."""

from __future__ import annotations

import pytest

from frontdoor_contracts.topics import all_topics
from frontdoor_stack.stack import LocalStack
from frontdoor_stack.topics import differences

pytestmark = pytest.mark.e2e


async def test_every_declared_topic_follows_from_its_declaration_on_one_broker(stack: LocalStack) -> None:
    assert stack.broker is not None
    assert await differences(stack.bootstrap, 1, security=stack.broker.security) == []


async def test_the_check_finds_every_topic_that_does_not_follow_from_another_layout(stack: LocalStack) -> None:
    """The same broker held against three brokers' declarations: every declared topic has one replica where three
    are declared, and min.insync.replicas=1 where 2 is."""
    assert stack.broker is not None
    found = await differences(stack.bootstrap, 3, security=stack.broker.security)
    for spec in all_topics():
        assert f"{spec.name}: replicas [1], wanted 3" in found
        assert f"{spec.name}: min.insync.replicas=1, declared 2" in found
    assert len(found) == 2 * len(all_topics())
