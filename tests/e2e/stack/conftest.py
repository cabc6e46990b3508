"""The whole local stack as `frontdoor-stack up` starts it (the stack's own
start code: broker, topics, the demo school system, the four services, the
dev keys and the seeded notifications directory), on free ports in a
temporary run directory, once for these tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from frontdoor_stack.kafka_broker import free_port
from frontdoor_stack.services import SERVICES, ServiceSpec
from frontdoor_stack.stack import LocalStack

# The services the tests go through, ready (consumer joined, relay publishing) before they start: a DA contact
# through contacts and notifications, the demo's outcome figures through all four.
ON_THE_WAY = ("contacts", "allocation", "notifications", "outcomes")


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Until /readyz is 200: the consumer joined its group and the relay publishes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {timeout:.0f}s")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root: Path = tmp_path_factory.mktemp("stack")
    running = LocalStack(root=root, kafka_port=free_port(), controller_port=free_port(),
                         services=tuple(ServiceSpec(spec.name, free_port()) for spec in SERVICES),
                         receiver_port=free_port(), smtp_port=free_port(),
                         extra_env={"NOTIFICATIONS_LOCAL_WEBHOOKS": "true"})  # the demo school system: 127.0.0.1
    running.start(say=lambda _: None)
    try:
        for process in running.processes:
            if process.spec.name in ON_THE_WAY:
                wait_ready(f"http://127.0.0.1:{process.spec.port}")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def notifications_url(stack: LocalStack) -> str:
    return next(f"http://127.0.0.1:{s.port}" for s in stack.services if s.name == "notifications")


@pytest.fixture(scope="session")
def admin(stack: LocalStack) -> dict[str, str]:
    """The headers of the notifications admin key the stack made (and seeded with)."""
    key = next(c.api_key for c in stack.credentials if c.service == "notifications" and c.roles == "admin")
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def receiver_url(stack: LocalStack) -> str:
    return f"http://127.0.0.1:{stack.receiver_port}"
