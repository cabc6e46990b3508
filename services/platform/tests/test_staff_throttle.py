"""The staff pages' sign-in throttle's parts: the delay (free failures, doubling,
capped), its book per account and address (one attempt at a time, a
refusal that does not lengthen the wait, forgotten after a quiet spell,
bounded), the limits and the trusted address around one attempt, the
client address (the peer unless a trusted proxy says otherwise), and the
settings that refuse a limit or a storage they cannot use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from frontdoor_platform.staff import StaffConfig, StaffPageSettings
from frontdoor_platform.staff.throttle import Delays, Throttle, client_address, delay_seconds, trusted_proxies

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
KEY = ("dsl-100001", "198.51.100.7")


def test_the_delay_is_free_then_doubles_up_to_its_maximum() -> None:
    waits = [delay_seconds(n, free=2, first=1.0, most=300.0) for n in range(0, 14)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert delay_seconds(10_000, free=0, first=1.0, most=300.0) == 300  # no overflow however many
    assert delay_seconds(1, free=0, first=5.0, most=300.0) == 5


def delays() -> Delays:
    return Delays(free=1, first=10.0, most=40.0, forget=timedelta(hours=1), capacity=3)


def may_start(book: Delays, key: tuple[str, str], at: datetime) -> bool:
    """Whether an attempt may start at `at`; one that may is ended unchecked (neither right nor wrong)."""
    started = book.begin(key, at)
    if started:
        book.finish(key, at, None)
    return started


def wait_left(book: Delays, key: tuple[str, str], now: datetime) -> float:
    """The seconds before an attempt may start, to the tenth (0: it may start now)."""
    tenths = range(0, 10 * 3600)
    return next(n / 10 for n in tenths if may_start(book, key, now + timedelta(seconds=n / 10)))


def test_the_book_allows_one_attempt_at_a_time_and_delays_after_the_free_failures() -> None:
    book = delays()
    assert book.begin(KEY, NOW)
    assert not book.begin(KEY, NOW)  # one at a time per account and address
    book.finish(KEY, NOW, False)  # the free one
    assert book.begin(KEY, NOW)
    book.finish(KEY, NOW, False)
    assert wait_left(book, KEY, NOW) == 10
    assert not book.begin(KEY, NOW + timedelta(seconds=9))
    assert wait_left(book, KEY, NOW + timedelta(seconds=9)) == 1  # a refusal does not lengthen the wait
    assert book.begin(("dsl-100001", "203.0.113.9"), NOW)  # another address is not delayed
    assert book.begin(KEY, NOW + timedelta(seconds=10))
    book.finish(KEY, NOW + timedelta(seconds=10), None)  # never checked (a limit, busy): not a failure
    assert wait_left(book, KEY, NOW + timedelta(seconds=10)) == 0
    assert book.begin(KEY, NOW + timedelta(seconds=10))
    book.finish(KEY, NOW + timedelta(seconds=10), False)
    assert wait_left(book, KEY, NOW + timedelta(seconds=10)) == 20
    assert book.begin(KEY, NOW + timedelta(seconds=30))
    book.finish(KEY, NOW + timedelta(seconds=30), True)  # right: cleared
    assert wait_left(book, KEY, NOW + timedelta(seconds=30)) == 0
    assert book.begin(KEY, NOW + timedelta(seconds=30))
    book.finish(KEY, NOW + timedelta(seconds=30), False)
    assert wait_left(book, KEY, NOW + timedelta(seconds=30)) == 0  # free again after a sign-in


def test_the_book_forgets_after_a_quiet_spell_and_holds_so_many() -> None:
    book = delays()
    for at in (0, 0, 10, 30, 70):  # waits of 0, 10, 20, 40 and, capped, 40 seconds
        assert book.begin(KEY, NOW + timedelta(seconds=at))
        book.finish(KEY, NOW + timedelta(seconds=at), False)
    last = NOW + timedelta(seconds=70)
    assert wait_left(book, KEY, last) == 40
    later = last + timedelta(hours=1)
    assert book.begin(KEY, later)
    book.finish(KEY, later, False)
    assert wait_left(book, KEY, later) == 0  # forgotten: this was a first, free failure again
    for n in range(3):  # more addresses than the book holds: the least recently touched go first
        assert book.begin(("dsl-100001", f"192.0.2.{n}"), later)
        book.finish(("dsl-100001", f"192.0.2.{n}"), later, False)
        assert book.begin(("dsl-100001", f"192.0.2.{n}"), later)
        book.finish(("dsl-100001", f"192.0.2.{n}"), later, False)
    assert wait_left(book, KEY, later) == 0 and wait_left(book, ("dsl-100001", "192.0.2.2"), later) == 10


async def admit(throttle: Throttle, account: str, address: str) -> bool:
    """As the sign-in asks: rule 1, then rules 2-3 unless the address is trusted; a refusal is settled at once."""
    if not throttle.begin(account, address, NOW):
        return False
    if await throttle.trusted(account, address) or await throttle.within_limits(account, address):
        return True
    await throttle.settle(account, address, NOW, None)
    return False


async def test_around_one_attempt_the_limits_count_and_a_sign_in_makes_the_address_trusted() -> None:
    throttle = Throttle(StaffConfig(page_address_limit="2/hour", page_account_limit="3/hour", page_free_failures=0))
    address = "198.51.100.7"
    for staff_id in ("dsl-1", "dsl-2"):
        assert await admit(throttle, staff_id, address)
        await throttle.settle(staff_id, address, NOW, False)
    assert not await admit(throttle, "dsl-3", address)  # the address's limit
    for n in (1, 2):
        assert await admit(throttle, "dsl-9", f"203.0.113.{n}")
        await throttle.settle("dsl-9", f"203.0.113.{n}", NOW, n == 1)  # 203.0.113.1 signed in
    assert await admit(throttle, "dsl-9", "203.0.113.3")  # the third for the account
    await throttle.settle("dsl-9", "203.0.113.3", NOW, False)
    assert not await admit(throttle, "dsl-9", "203.0.113.4")  # the account's limit
    assert await admit(throttle, "dsl-9", "203.0.113.1")  # but not where it signed in
    await throttle.settle("dsl-9", "203.0.113.1", NOW, False)
    assert not await admit(throttle, "dsl-9", "203.0.113.1")  # ... which still has its own delay


def request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "method": "POST", "path": "/page/sign-in", "headers": headers,
                    "client": (peer, 50000)})


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_forwards_it() -> None:
    assert client_address(request("203.0.113.9", "198.51.100.7"), []) == "203.0.113.9"  # off by default
    proxies = trusted_proxies(StaffConfig(page_trusted_proxies=("10.0.0.0/8", "192.0.2.1")))
    assert client_address(request("203.0.113.9", "198.51.100.7"), proxies) == "203.0.113.9"  # not a proxy
    assert client_address(request("10.1.2.3", "198.51.100.7"), proxies) == "198.51.100.7"
    # what the client itself wrote to the left of the real address is not believed
    assert client_address(request("10.1.2.3", "1.1.1.1, 198.51.100.7, 192.0.2.1"), proxies) == "198.51.100.7"
    assert client_address(request("10.1.2.3", "1.1.1.1", "198.51.100.7"), proxies) == "198.51.100.7"
    assert client_address(request("10.1.2.3", "not-an-address"), proxies) == "10.1.2.3"
    assert client_address(request("10.1.2.3"), proxies) == "10.1.2.3"


@pytest.mark.parametrize(("setting", "value"), [("page_address_limit", "lots"),
                                                ("page_account_limit", "5 per fortnight"),
                                                ("page_limits_storage", "memory://"),
                                                ("page_trusted_proxies", ["proxy.example"])])
def test_the_settings_refuse_what_the_throttle_cannot_use(setting: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        StaffPageSettings.model_validate({setting: value})
    assert setting in str(refused.value)


def test_the_delay_cannot_start_above_its_maximum() -> None:
    with pytest.raises(ValidationError, match="page_delay_max_seconds"):
        StaffPageSettings(page_delay_first_seconds=60, page_delay_max_seconds=30)
