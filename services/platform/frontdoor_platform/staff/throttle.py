"""Who may try a password, and when: slowing guessing down without handing
an outsider a way to lock staff out. (A hard lockout after N wrong
passwords could be renewed for ever by anyone who knows the staff id, and
staff ids are guessable: notifications' `dsl-<URN>`.) Checked before any argon2 work:

1. **Per account and client address, a progressive delay.** The first
   `page_free_failures` wrong passwords cost nothing (a typo); each later
   one makes the next attempt from that address on that account wait
   `page_delay_first_seconds`, then twice as long each time, up to
   `page_delay_max_seconds`. One attempt at a time per account and address.
   A right password clears it; so does a quiet `page_delay_forget_hours`.
   An attempt refused for its delay runs no argon2 and does not lengthen
   the wait. Someone failing on account A from another address never
   delays A at the owner's address.
2. **Per client address, across accounts**: `page_address_limit` attempts
   (a moving window of the `limits` package), so one address cannot spray
   guessable staff ids.
3. **Per account, across addresses**: `page_account_limit` attempts, so
   many addresses together cannot guess one password quickly.

Rules 2 and 3 can be filled by others (a neighbour behind the office's
address, a botnet), so neither applies where the account signed in within
`page_trusted_days`: at the staff member's usual address only their own delay
(rule 1) counts. Hence: whoever hammers account A from elsewhere, A's owner
signs in from their usual address after at most the delay their
own wrong passwords earned. Unknown staff ids go through the same rules as
real ones, so nothing tells them apart; every refusal says the same.

What this does not cover: someone behind the same address (a school's or an
office's one public address) who keeps failing on the same account shares
its owner's delay (at most `page_delay_max_seconds` each time); a staff member at
an address their account never signed in from, while the account takes
more than `page_account_limit` attempts from elsewhere, waits for that to
ease (or signs in from their usual address).

Where it lives: rules 2-3 and the trusted addresses in `limits` storage
(`page_limits_storage`): "async+memory://" for one API process (as `serve`
runs it); several API processes would share one "async+redis://host:6379"
(the `redis` client package, not installed here). The delays of rule 1 are
in this process's memory, on the service's clock (bounded: the oldest are
forgotten first); with several processes an address would get its free
failures in each, and rules 2-3 would still bound the total. `limits`
keeps real time. A restart forgets all of it (memory storage).

The same rules hold the rest of signing in (`signin.py`). With a second
factor, the right password alone neither clears rule 1 nor trusts the
address: the right TOTP code does; a wrong code counts as a wrong password
(rules 1-3 alike). A one-time set-password code (100 random bits: not
guessable) goes through rule 1, and through rules 2-3 counting only the
wrong ones, so that setting passwords from one address (the stack seeding
its demo accounts) is not taken for spraying; a right one clears rule 1 but
trusts no address (that is for a sign-in).

The client address is the connection's peer; behind a proxy listed in
`page_trusted_proxies`, the right-most X-Forwarded-For address that is not
such a proxy (off by default: a header anyone can send is not believed)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from limits import RateLimitItemPerDay, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.requests import Request

from .config import StaffConfig

Key = tuple[str, str]  # (staff id, client address)
CAPACITY = 100_000  # delays kept at most; the least recently touched are forgotten first


def delay_seconds(failures: int, free: int, first: float, most: float) -> float:
    """The wait after `failures` wrong passwords in a row: none for the free
    ones, then `first`, doubling with each failure, never above `most`."""
    over = failures - free
    if over <= 0:
        return 0.0
    return min(first * 2.0 ** min(over - 1, 64), most)


@dataclass
class _Record:
    failures: int = 0
    not_before: datetime | None = None
    last: datetime | None = None
    trying: bool = False


class Delays:
    """Rule 1's book: per (account, address), the failures in a row and when the next attempt may start."""

    def __init__(self, free: int, first: float, most: float, forget: timedelta, capacity: int = CAPACITY):
        self._free, self._first, self._most, self._forget, self._capacity = free, first, most, forget, capacity
        self._records: OrderedDict[Key, _Record] = OrderedDict()

    def begin(self, key: Key, now: datetime) -> bool:
        """Start an attempt, unless one is under way or the delay has not passed."""
        self._prune(now)
        record = self._records.setdefault(key, _Record())
        self._records.move_to_end(key)
        if not record.trying and record.last is not None and record.last + self._forget <= now:
            record = self._records[key] = _Record()  # quiet long enough: forgotten
        if record.trying or (record.not_before is not None and record.not_before > now):
            return False
        record.trying = True
        return True

    def finish(self, key: Key, now: datetime, right: bool | None) -> None:
        """End an attempt: the password was right, wrong, or never checked (None)."""
        record = self._records.get(key)
        if record is None:
            return
        record.trying = False
        if right is False:
            record.failures += 1
            record.last = now
            wait = delay_seconds(record.failures, self._free, self._first, self._most)
            record.not_before = now + timedelta(seconds=wait) if wait else None
        if right or record.failures == 0:
            del self._records[key]

    def _prune(self, now: datetime) -> None:
        while self._records:
            key, oldest = next(iter(self._records.items()))
            stale = oldest.last is None or oldest.last + self._forget <= now
            if oldest.trying or not (stale or len(self._records) >= self._capacity):
                return
            del self._records[key]


def _hidden(account: str) -> str:
    """The account as `limits` keys hold it: a digest (no staff id in the storage, no separator in the key)."""
    return hashlib.sha256(account.encode()).hexdigest()[:32]


class Throttle:
    """Rules 1-3 around one attempt: `begin`, `trusted` and `within_limits`
    before argon2, `settle` after it (also when it never ran). The limits'
    storage may raise StorageError when it cannot be reached."""

    def __init__(self, settings: StaffConfig):
        self.delays = Delays(settings.page_free_failures, settings.page_delay_first_seconds,
                             settings.page_delay_max_seconds, timedelta(hours=settings.page_delay_forget_hours))
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.page_limits_storage,
                                                                    wrap_exceptions=True))
        self._per_address = parse(settings.page_address_limit)
        self._per_account = parse(settings.page_account_limit)
        self._trust = RateLimitItemPerDay(1, settings.page_trusted_days)

    def begin(self, account: str, address: str, now: datetime) -> bool:
        """Rule 1: may an attempt start now (then it must be settled)? False: too soon, or one under way."""
        return self.delays.begin((account, address), now)

    async def trusted(self, account: str, address: str) -> bool:
        """Did the account sign in from this address within page_trusted_days?"""
        return not await self._limiter.test(self._trust, "page-trusted", _hidden(account), address)

    async def within_limits(self, account: str, address: str) -> bool:
        """Rules 2 and 3, counting this attempt (for an address the account is not trusted at)."""
        return (await self._limiter.hit(self._per_address, "page-address", address)
                and await self._limiter.hit(self._per_account, "page-account", _hidden(account)))

    async def room_within_limits(self, account: str, address: str) -> bool:
        """Rules 2 and 3 without counting: would an attempt be within both?"""
        return (await self._limiter.test(self._per_address, "page-address", address)
                and await self._limiter.test(self._per_account, "page-account", _hidden(account)))

    async def count_within_limits(self, account: str, address: str) -> None:
        """Count an attempt against rules 2 and 3 after the fact (a wrong set-password code)."""
        await self._limiter.hit(self._per_address, "page-address", address)
        await self._limiter.hit(self._per_account, "page-account", _hidden(account))

    async def settle(self, account: str, address: str, now: datetime, right: bool | None,
                     trust: bool = True) -> None:
        """After an admitted attempt: the password (or code) was right, wrong, or never checked (None); a right
        one trusts the address for the account, unless `trust` is False."""
        self.delays.finish((account, address), now, right)
        if right and trust:
            hidden = _hidden(account)
            try:  # the address is trusted for the account from now on (a failure here only loses that)
                await self._limiter.clear(self._trust, "page-trusted", hidden, address)
                await self._limiter.hit(self._trust, "page-trusted", hidden, address)
            except StorageError:
                pass


Networks = Sequence[IPv4Network | IPv6Network]


def trusted_proxies(settings: StaffConfig) -> list[IPv4Network | IPv6Network]:
    return [ip_network(entry, strict=False) for entry in settings.page_trusted_proxies]


def _among(host: str, networks: Networks) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(request: Request, proxies: Networks) -> str:
    """The connection's peer; through a trusted proxy, the right-most
    X-Forwarded-For address that is not one (a malformed entry ends the walk)."""
    peer = request.client.host if request.client else "unknown"
    if not proxies or not _among(peer, proxies):
        return peer
    found = peer
    hops = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
    for hop in reversed([hop.strip() for hop in hops if hop.strip()]):
        try:
            found = str(ip_address(hop))
        except ValueError:
            return found
        if not _among(found, proxies):
            return found
    return found
