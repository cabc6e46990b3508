"""A delivery's lease must outlast its send: otherwise a send still waiting
when its lease runs out is claimed again and sent twice."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notifications.settings import Settings


def test_a_lease_no_longer_than_the_send_timeout_is_refused_naming_both() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(delivery_lease_seconds=10, delivery_timeout_seconds=10)
    assert "delivery_lease_seconds must be longer than delivery_timeout_seconds" in str(refused.value)


def test_the_defaults_and_a_longer_lease_are_taken() -> None:
    assert Settings().delivery_lease_seconds > Settings().delivery_timeout_seconds
    assert Settings(delivery_lease_seconds=6, delivery_timeout_seconds=5).delivery_lease_seconds == 6
