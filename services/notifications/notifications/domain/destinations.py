"""Where a webhook may go: to a school's or an agency's system on the
internet, over https, and nowhere inside (issue 15: a webhook address must
not turn the delivery worker into a probe of the council's own network).

Refused, whatever the address is written as: loopback, private (RFC 1918,
RFC 4193, and the deprecated IPv6 site-local), link-local (169.254.169.254,
the cloud metadata service, among them), multicast, unspecified, reserved,
carrier-grade NAT (RFC 6598), every other special-purpose range that is not
globally reachable (documentation, benchmarking, ...), and IPv6 forms that
carry such an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 and 6to4).
Hosts written as numbers other than a plain dotted quad (`127.1`,
`2130706433`, `0x7f.0.0.1`: resolvers read them as IPv4) are refused too.

`local` is the development setting (`NOTIFICATIONS_LOCAL_WEBHOOKS`): it lets
a webhook go to this machine (loopback), over plain http too, for the demo
school receiver on 127.0.0.1; plain http never goes anywhere else. Off, only
https to a globally reachable address passes.

The rules judge what is written in the URL (when an address is set) and the
addresses a name resolves to (at each send: `delivery/pinned.py`), never a
name alone: a name is only as good as what it resolves to now."""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import unquote, urlsplit

IPAddress = IPv4Address | IPv6Address


class Refusal(StrEnum):
    """Why a destination is refused: a bounded code, safe in logs (never the address)."""

    SCHEME = "scheme"  # not https (plain http only to this machine, in development)
    HOST = "host"  # no host, credentials in the URL, or a host written in a form resolvers read differently
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link_local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    SHARED = "shared"  # carrier-grade NAT, 100.64.0.0/10
    RESERVED = "reserved"  # any other range that is not globally reachable


RULES = {
    Refusal.SCHEME: "must be an https address (plain http only to this machine, with the development setting)",
    Refusal.HOST: "must name a host, without credentials, and any IPv4 address as four decimal numbers",
}
ADDRESS_RULE = ("must not point at this machine or a loopback, private, link-local, multicast, unspecified, "
                "reserved or carrier-grade NAT address")

PRIVATE_V4 = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
PRIVATE_V6 = tuple(IPv6Network(n) for n in ("fc00::/7", "fec0::/10"))  # unique local; site-local (deprecated)
SHARED = IPv4Network("100.64.0.0/10")
NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def rule_of(refusal: Refusal) -> str:
    """The rule a refusal breaks, in words (for a 422; never the value)."""
    return RULES.get(refusal, ADDRESS_RULE)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in NAT64):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_refusal(address: IPAddress, *, local: bool) -> Refusal | None:
    """Why a webhook may not connect to `address`, or None when it may."""
    if isinstance(address, IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        refused = address_refusal(inner, local=local)
        if refused is not None or address.sixtofour is None:
            return refused  # a mapped or NAT64 address is the IPv4 address it carries
    if address.is_loopback:
        return None if local else Refusal.LOOPBACK
    return _special(address)


def _special(address: IPAddress) -> Refusal | None:
    if address.is_unspecified:
        return Refusal.UNSPECIFIED
    if address.is_link_local:
        return Refusal.LINK_LOCAL
    if address.is_multicast:
        return Refusal.MULTICAST
    if isinstance(address, IPv4Address):
        if address in SHARED:
            return Refusal.SHARED
        if any(address in network for network in PRIVATE_V4):
            return Refusal.PRIVATE
    elif any(address in network for network in PRIVATE_V6):
        return Refusal.PRIVATE
    if address.is_reserved or address.is_private or not address.is_global:
        return Refusal.RESERVED
    return None


def host_refusal(host: str, *, local: bool) -> Refusal | None:
    """Judge a URL's host as written: an IP literal by `address_refusal`,
    `localhost` (RFC 6761) as loopback, a numeric form other than a dotted
    quad as HOST. Any other name passes here: it is judged when resolved."""
    name = host.lower().removesuffix(".")
    if not name:
        return Refusal.HOST
    if name.startswith("["):  # IPv6, bracketed; a zone is written %25zone
        if not name.endswith("]"):
            return Refusal.HOST
        try:
            return address_refusal(IPv6Address(unquote(name[1:-1])), local=local)
        except ValueError:
            return Refusal.HOST
    if NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        try:
            return address_refusal(IPv4Address(name), local=local)
        except ValueError:
            return Refusal.HOST  # 127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1: IPv4 to a resolver
    if name == "localhost" or name.endswith(".localhost"):
        return None if local else Refusal.LOOPBACK
    return None


def is_loopback_host(host: str) -> bool:
    """Is the host, as written, this machine (a loopback literal or `localhost`)?"""
    return host_refusal(host, local=False) is Refusal.LOOPBACK


def url_refusal(url: str, *, local: bool) -> Refusal | None:
    """Judge a webhook URL as written: https (or, with `local`, plain http
    to this machine), a host, no credentials, and the host by `host_refusal`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return Refusal.HOST
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        return Refusal.SCHEME
    netloc = parts.netloc
    if "@" in netloc or "\\" in url or any(c.isspace() for c in url):
        return Refusal.HOST
    host = netloc.rsplit("]", 1)[0] + "]" if netloc.startswith("[") else netloc.split(":", 1)[0]
    refused = host_refusal(host, local=local)
    if refused is not None:
        return refused
    if scheme == "http" and not (local and is_loopback_host(host)):
        return Refusal.SCHEME
    return None
