"""Where a webhook may go (domain/destinations.py): every forbidden kind of
address, however it is written, refused with its bounded reason; https to
a public address allowed; this machine and plain http only with the
development setting, and plain http nowhere else."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from notifications.domain.destinations import Refusal, address_refusal, rule_of, url_refusal

FORBIDDEN = [  # (url, reason) whatever the development setting says
    ("https://10.0.0.5/hook", Refusal.PRIVATE),
    ("https://172.16.0.1/hook", Refusal.PRIVATE),
    ("https://172.31.255.254/hook", Refusal.PRIVATE),
    ("https://192.168.1.10:8443/hook", Refusal.PRIVATE),
    ("https://[fd12:3456::1]/hook", Refusal.PRIVATE),  # RFC 4193 unique local
    ("https://[fec0::1]/hook", Refusal.PRIVATE),  # deprecated site-local
    ("https://169.254.169.254/latest/meta-data", Refusal.LINK_LOCAL),
    ("https://[fe80::1]/hook", Refusal.LINK_LOCAL),
    ("https://[fe80::1%25eth0]/hook", Refusal.LINK_LOCAL),
    ("https://224.0.0.1/hook", Refusal.MULTICAST),
    ("https://239.255.255.250/hook", Refusal.MULTICAST),
    ("https://[ff02::1]/hook", Refusal.MULTICAST),
    ("https://0.0.0.0/hook", Refusal.UNSPECIFIED),
    ("https://[::]/hook", Refusal.UNSPECIFIED),
    ("https://100.64.0.1/hook", Refusal.SHARED),  # carrier-grade NAT
    ("https://100.127.255.254/hook", Refusal.SHARED),
    ("https://240.0.0.1/hook", Refusal.RESERVED),
    ("https://255.255.255.255/hook", Refusal.RESERVED),
    ("https://192.0.2.10/hook", Refusal.RESERVED),  # documentation
    ("https://198.18.0.1/hook", Refusal.RESERVED),  # benchmarking
    ("https://0.1.2.3/hook", Refusal.RESERVED),  # "this network"
    ("https://[2001:db8::1]/hook", Refusal.RESERVED),
    ("https://[::ffff:10.0.0.5]/hook", Refusal.PRIVATE),  # IPv4-mapped
    ("https://[::ffff:169.254.169.254]/hook", Refusal.LINK_LOCAL),
    ("https://[::ffff:100.64.0.1]/hook", Refusal.SHARED),
    ("https://[64:ff9b::a00:5]/hook", Refusal.PRIVATE),  # NAT64 of 10.0.0.5
    ("https://[2002:a9fe:a9fe::]/hook", Refusal.LINK_LOCAL),  # 6to4 of 169.254.169.254
    ("https://127.1/hook", Refusal.HOST),  # numeric forms a resolver reads as 127.0.0.1
    ("https://2130706433/hook", Refusal.HOST),
    ("https://0x7f.0.0.1/hook", Refusal.HOST),
    ("https://0177.0.0.1/hook", Refusal.HOST),
    ("https://user:password@school.example/hook", Refusal.HOST),
    ("https://[::1/hook", Refusal.HOST),
    ("https:///hook", Refusal.HOST),
    ("http://school.example/hook", Refusal.SCHEME),  # plain http, never to another machine
    ("http://8.8.8.8/hook", Refusal.SCHEME),
    ("ftp://school.example/hook", Refusal.SCHEME),
]
THIS_MACHINE = ["https://127.0.0.1/hook", "http://127.0.0.1:8090/webhooks/schools/100001", "https://127.8.9.10/",
                "http://[::1]:8090/hook", "https://[::ffff:127.0.0.1]/hook", "http://localhost:8090/hook",
                "https://LOCALHOST./hook", "https://school.localhost/hook", "https://127.0.0.1./hook"]
ALLOWED = ["https://school.example/hook", "https://school.example:8443/frontdoor?token=abc",
           "https://8.8.8.8/hook", "https://[2001:4860:4860::8888]/hook", "HTTPS://School.Example/Hook",
           "https://[64:ff9b::808:808]/hook"]  # NAT64 of a public address


@pytest.mark.parametrize(("url", "reason"), FORBIDDEN)
@pytest.mark.parametrize("local", [False, True], ids=["production", "development"])
def test_a_forbidden_destination_is_refused_with_its_reason(url: str, reason: Refusal, local: bool) -> None:
    assert url_refusal(url, local=local) is reason


@pytest.mark.parametrize("url", THIS_MACHINE)
def test_this_machine_only_with_the_development_setting(url: str) -> None:
    assert url_refusal(url, local=False) is Refusal.LOOPBACK
    assert url_refusal(url, local=True) is None


@pytest.mark.parametrize("url", ALLOWED)
@pytest.mark.parametrize("local", [False, True], ids=["production", "development"])
def test_https_to_a_public_host_is_allowed(url: str, local: bool) -> None:
    assert url_refusal(url, local=local) is None


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", Refusal.LOOPBACK), ("::1", Refusal.LOOPBACK), ("::ffff:127.0.0.1", Refusal.LOOPBACK),
    ("10.1.2.3", Refusal.PRIVATE), ("169.254.169.254", Refusal.LINK_LOCAL), ("fe80::1%2", Refusal.LINK_LOCAL),
    ("100.64.1.1", Refusal.SHARED), ("224.0.0.251", Refusal.MULTICAST), ("0.0.0.0", Refusal.UNSPECIFIED),
    ("93.184.215.14", None), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
])
def test_a_resolved_address_is_judged_the_same_way(address: str, reason: Refusal | None) -> None:
    assert address_refusal(ip_address(address), local=False) is reason


def test_every_rule_is_words_without_the_value() -> None:
    for reason in Refusal:
        words = rule_of(reason)
        assert words.startswith("must") and "169.254" not in words and "://" not in words
