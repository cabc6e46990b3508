"""End-to-end fixtures: the notifications service against the session's
broker, and a school's webhook receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from notifications_e2e_kit import (
    NotificationsService,
    WebhookReceiver,
    iter_urns,
    start_notifications,
    stop_notifications,
)

URNS = iter_urns(700000)


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="session")
def notifications_service(kafka_bootstrap: str,
                          tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotificationsService]:
    # A long poll: a delivery that arrives promptly was woken by the consumer's commit, not found by polling.
    service = start_notifications(tmp_path_factory.mktemp("notifications"), kafka_bootstrap,
                                  {"NOTIFICATIONS_DELIVERY_POLL_SECONDS": "5"})
    yield service
    stop_notifications(service)


@pytest.fixture
def new_urn() -> Callable[[], str]:
    """School URNs no other test uses."""
    return lambda: next(URNS)
