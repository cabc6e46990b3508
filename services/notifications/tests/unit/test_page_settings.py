"""The schools' page's settings refuse a throttle limit, a storage or a
proxy the kit's throttle (`frontdoor_platform.staff.throttle`) cannot use,
and a delay that would start above its maximum, naming the setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notifications.settings import Settings


@pytest.mark.parametrize(("setting", "value"), [("page_address_limit", "lots"),
                                                ("page_account_limit", "5 per fortnight"),
                                                ("page_limits_storage", "memory://"),
                                                ("page_trusted_proxies", ["proxy.example"])])
def test_the_settings_refuse_what_the_throttle_cannot_use(setting: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{setting: value})
    assert setting in str(refused.value)


def test_the_delay_cannot_start_above_its_maximum() -> None:
    with pytest.raises(ValidationError, match="page_delay_max_seconds"):
        Settings(page_delay_first_seconds=60, page_delay_max_seconds=30)
