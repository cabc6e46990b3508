"""The webhook client's transport: every connection goes to an address that
`domain/destinations.py` allowed at that moment (issue 15: a webhook must
not be turned inward, not even by a name whose DNS answer changes between
the check and the connection: DNS rebinding).

The check is in the connection itself: httpcore asks its network backend
for a TCP connection to the URL's host, and `PinnedBackend` resolves the
name once (the event loop's `getaddrinfo`, in its executor: the loop never
waits), refuses every answer if one is refused (`DestinationRefused`, which
the sender records as a failed attempt), and connects to the very
addresses it judged. TLS still names the host: httpcore sends the URL's
host as SNI and verifies the certificate against it, and the Host header
is the URL's. Pooled connections are per host, each judged when it opened.

No proxies and no `.netrc` from the environment (`trust_env=False`): a
proxy would connect wherever it liked, after our check."""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import ip_address

import httpcore
import httpx

from ..domain.destinations import Refusal, address_refusal
from ..settings import Settings

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class DestinationRefused(Exception):
    """A webhook host resolved to an address the destination rules refuse."""

    def __init__(self, refusal: Refusal):
        self.refusal = refusal
        super().__init__(refusal.value)


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now (the loop's getaddrinfo, off the loop), in the resolver's order."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, judging and pinning every address it connects to."""

    def __init__(self, *, local: bool, resolver: Resolver = resolve,
                 inner: httpcore.AsyncNetworkBackend | None = None):
        self._local = local
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        try:
            found = await self._resolver(host, port)
        except OSError as error:  # no such name, or DNS not answering: a connection failure, retried
            raise httpcore.ConnectError("the webhook host did not resolve") from error
        addresses = []
        for text in found:
            try:
                address = ip_address(text)
            except ValueError:
                raise DestinationRefused(Refusal.HOST) from None
            refused = address_refusal(address, local=self._local)
            if refused is not None:
                raise DestinationRefused(refused)
            addresses.append(address)
        last: httpcore.ConnectError | httpcore.ConnectTimeout = httpcore.ConnectError("the webhook host has no address")
        for address in addresses:  # each one judged above; never the name again
            try:
                return await self._inner.connect_tcp(str(address), port, timeout=timeout,
                                                     local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(Refusal.HOST)  # a webhook is never a local socket

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def webhook_transport(settings: Settings, resolver: Resolver = resolve,
                      verify: ssl.SSLContext | bool = True) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (its request and response handling, its pool), whose pool connects through
    `PinnedBackend`. httpx takes no network backend, so the pool it built is replaced by the same pool with
    ours (httpx 0.28: `_pool`; tests/integration/test_webhook_destinations.py fails if that stops working)."""
    limits = httpx.Limits(max_connections=settings.delivery_concurrency)
    transport = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PinnedBackend(local=settings.local_webhooks, resolver=resolver))
    return transport
