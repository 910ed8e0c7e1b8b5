"""The SSRF guard's judgement of addresses: every row of IANA's IPv4 and IPv6
special-purpose registries, the IPv6 forms that carry an IPv4 address, odd literal hosts,
hosts with several addresses, and the connection pinned to the address that was judged.

No real DNS: hosts are literal addresses (the system resolver parses them without asking
anyone), or the guard's getaddrinfo is replaced by a resolver answering from a list.
"""

from __future__ import annotations

import ipaddress
import socket
import types
from typing import Any

import pytest

from profiling.services.delivery import UnsafeWebhookUrl, webhook_url_check
from profiling.services.delivery import urls as urls_module
from profiling.services.delivery.addresses import (
    IPV4_SPECIAL,
    IPV6_SPECIAL,
    Block,
    address_refusal,
)
from profiling.services.delivery.urls import webhook_target

# (address, None if it must pass, else a phrase the refusal must contain)
IPV4_CASES: list[tuple[str, str | None]] = [
    ("0.0.0.0", '"This host on this network"'),
    ("0.0.0.1", '"This network"'),
    ("0.255.255.255", '"This network"'),
    ("1.0.0.0", None),
    ("9.255.255.255", None),
    ("10.0.0.0", "Private-Use (10.0.0.0/8, RFC 1918)"),
    ("10.255.255.255", "Private-Use (10.0.0.0/8"),
    ("11.0.0.0", None),
    ("100.63.255.255", None),
    ("100.64.0.0", "Shared Address Space (100.64.0.0/10, RFC 6598)"),
    ("100.100.100.200", "Shared Address Space"),  # Alibaba Cloud's metadata service
    ("100.127.255.255", "Shared Address Space"),
    ("100.128.0.0", None),
    ("126.255.255.255", None),
    ("127.0.0.1", "Loopback (127.0.0.0/8"),
    ("127.255.255.255", "Loopback"),
    ("128.0.0.0", None),
    ("169.254.0.0", "Link Local (169.254.0.0/16"),
    ("169.254.169.254", "Link Local"),
    ("169.255.0.0", None),
    ("172.15.255.255", None),
    ("172.16.0.0", "Private-Use (172.16.0.0/12"),
    ("172.31.255.255", "Private-Use (172.16.0.0/12"),
    ("172.32.0.0", None),
    ("191.255.255.255", None),
    ("192.0.0.0", "IPv4 Service Continuity Prefix (192.0.0.0/29"),
    ("192.0.0.7", "IPv4 Service Continuity Prefix"),
    ("192.0.0.8", "IPv4 dummy address (192.0.0.8/32"),
    ("192.0.0.9", None),  # Port Control Protocol Anycast: globally reachable
    ("192.0.0.10", None),  # TURN Anycast: globally reachable
    ("192.0.0.11", "IETF Protocol Assignments (192.0.0.0/24"),
    ("192.0.0.169", "IETF Protocol Assignments"),
    ("192.0.0.170", "NAT64/DNS64 Discovery (192.0.0.170/32"),
    ("192.0.0.171", "NAT64/DNS64 Discovery (192.0.0.171/32"),
    ("192.0.0.255", "IETF Protocol Assignments"),
    ("192.0.1.0", None),
    ("192.0.2.0", "Documentation (TEST-NET-1)"),
    ("192.0.2.255", "Documentation (TEST-NET-1)"),
    ("192.31.196.1", None),  # AS112-v4
    ("192.52.193.1", None),  # AMT
    ("192.88.98.255", None),
    ("192.88.99.0", "Deprecated (6to4 Relay Anycast)"),
    ("192.88.99.1", "Deprecated (6to4 Relay Anycast)"),
    ("192.88.99.2", "6a44-relay anycast address"),
    ("192.88.99.255", "Deprecated (6to4 Relay Anycast)"),
    ("192.88.100.0", None),
    ("192.167.255.255", None),
    ("192.168.0.0", "Private-Use (192.168.0.0/16"),
    ("192.168.255.255", "Private-Use (192.168.0.0/16"),
    ("192.169.0.0", None),
    ("192.175.48.1", None),  # Direct Delegation AS112 Service
    ("198.17.255.255", None),
    ("198.18.0.0", "Benchmarking (198.18.0.0/15"),
    ("198.19.255.255", "Benchmarking"),
    ("198.20.0.0", None),
    ("198.51.100.7", "Documentation (TEST-NET-2)"),
    ("203.0.113.7", "Documentation (TEST-NET-3)"),
    ("223.255.255.255", None),
    ("224.0.0.0", "Multicast (224.0.0.0/4"),
    ("239.255.255.255", "Multicast"),
    ("240.0.0.0", "Reserved (240.0.0.0/4"),
    ("255.255.255.254", "Reserved"),
    ("255.255.255.255", "Limited Broadcast"),
    ("8.8.8.8", None),
    ("1.1.1.1", None),
    ("93.184.216.34", None),
]

IPV6_CASES: list[tuple[str, str | None]] = [
    ("::", "Unspecified Address"),
    ("::1", "Loopback Address"),
    ("::2", "deprecated IPv4-compatible address for 0.0.0.2"),
    # IPv4-mapped: the kernel connects to the IPv4 address inside.
    ("::ffff:8.8.8.8", None),
    ("::ffff:10.0.0.1", "IPv4-mapped (::ffff:0:0/96) for 10.0.0.1, which is Private-Use"),
    ("::ffff:127.0.0.1", "for 127.0.0.1, which is Loopback"),
    ("::ffff:169.254.169.254", "for 169.254.169.254, which is Link Local"),
    ("::ffff:100.100.100.200", "for 100.100.100.200, which is Shared Address Space"),
    ("::ffff:192.0.0.9", None),
    # IPv4-compatible (deprecated) and IPv4-translated (SIIT): never a destination.
    ("::a00:1", "deprecated IPv4-compatible address for 10.0.0.1"),
    ("::808:808", "deprecated IPv4-compatible address for 8.8.8.8"),
    ("::ffff:0:a00:1", "IPv4-translated address for 10.0.0.1"),
    ("::ffff:0:808:808", "IPv4-translated address for 8.8.8.8"),
    # NAT64 well-known prefix: judged by the IPv4 address in the last 32 bits.
    ("64:ff9b::808:808", None),
    ("64:ff9b::a00:1", "NAT64 (64:ff9b::/96) for 10.0.0.1, which is Private-Use"),
    ("64:ff9b::7f00:1", "for 127.0.0.1, which is Loopback"),
    ("64:ff9b::6464:64c8", "for 100.100.100.200, which is Shared Address Space"),
    ("64:ff9b::c000:a", None),  # 192.0.0.10, an exception inside 192.0.0.0/24
    # NAT64 local use: not globally reachable whatever it carries.
    ("64:ff9b:1::a00:1", "IPv4-IPv6 Translat. (local use) (64:ff9b:1::/48"),
    ("64:ff9b:1::808:808", "IPv4-IPv6 Translat. (local use)"),
    ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "(local use)"),
    ("64:ff9b:2::", "outside the global unicast space"),
    ("100::", "Discard-Only Address Block (100::/64"),
    ("100::ffff:ffff:ffff:ffff", "Discard-Only Address Block"),
    ("100:0:0:1::1", "Dummy IPv6 Prefix (100:0:0:1::/64"),
    ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "outside the global unicast space"),
    ("2000::1", None),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo (2001::/32) with client 192.0.2.45"),
    # Teredo: server 65.54.227.120 (bits 32-64), client = last 32 bits inverted
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo (2001::/32) with client 10.0.0.1"),
    ("2001:0:a00:1:8000:63bf:f7f7:f7f7", "Teredo (2001::/32) with server 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "client 127.0.0.1, which is Loopback"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "TEREDO (2001::/32, RFC 4380)"),  # both public
    ("2001:1::1", None),  # Port Control Protocol Anycast
    ("2001:1::2", None),  # TURN Anycast
    ("2001:1::3", None),  # DNS-SD Service Registration Protocol Anycast
    ("2001:1::4", "IETF Protocol Assignments (2001::/23"),
    ("2001:2::1", "Benchmarking (2001:2::/48"),
    ("2001:2:0:ffff::1", "Benchmarking"),
    ("2001:2:1::1", "IETF Protocol Assignments"),
    ("2001:3::1", None),  # AMT
    ("2001:4:112::1", None),  # AS112-v6
    ("2001:4:113::1", "IETF Protocol Assignments"),
    ("2001:10::1", "Deprecated (previously ORCHID) (2001:10::/28"),
    ("2001:1f:ffff::1", "Deprecated (previously ORCHID)"),
    ("2001:20::1", None),  # ORCHIDv2: globally reachable per the registry
    ("2001:2f:ffff::1", None),
    ("2001:30::1", None),  # Drone Remote ID DETs
    ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "IETF Protocol Assignments"),
    ("2001:200::1", None),
    ("2001:db8::1", "Documentation (2001:db8::/32"),
    ("2001:db8:ffff::1", "Documentation"),
    ("2001:db9::1", None),
    # 6to4: the IPv4 address in bits 16-48 is judged; a public one still leaves the
    # registry's "N/A", which is not "globally reachable".
    ("2002:a00:1::", "6to4 (2002::/16) for 10.0.0.1, which is Private-Use"),
    ("2002:7f00:1::1", "6to4 (2002::/16) for 127.0.0.1, which is Loopback"),
    ("2002:c0a8:101::1", "for 192.168.1.1, which is Private-Use"),
    ("2002:6464:64c8::1", "for 100.100.100.200, which is Shared Address Space"),
    ("2002:a9fe:a9fe::1", "for 169.254.169.254, which is Link Local"),
    ("2002:808:808::1", "6to4 (2002::/16, RFC 3056)"),
    ("2003::1", None),
    ("2620:4f:8000::1", None),  # Direct Delegation AS112 Service
    ("2606:4700:4700::1111", None),
    ("2001:4860:4860::8888", None),
    ("3ffe::1", None),  # the old 6bone, now ordinary 2000::/3 space
    ("3fff::1", "Documentation (3fff::/20, RFC 9637)"),
    ("3fff:fff:ffff::1", "Documentation (3fff::/20"),
    ("3fff:1000::1", None),
    ("4000::1", "outside the global unicast space"),
    ("5f00::1", "Segment Routing (SRv6) SIDs (5f00::/16"),
    ("fc00::1", "Unique-Local (fc00::/7"),
    ("fdff:ffff::1", "Unique-Local"),
    ("fe80::1", "Link-Local Unicast (fe80::/10"),
    ("febf:ffff::1", "Link-Local Unicast"),
    ("fec0::1", "outside the global unicast space"),  # the deprecated site-local block
    ("ff02::1", "Multicast (ff00::/8"),
    ("ff0e::1", "Multicast"),
    ("fe80::1%eth0", "scoped to one network interface"),
    ("2606:4700:4700::1111%eth0", "scoped to one network interface"),
]

CASES = IPV4_CASES + IPV6_CASES


@pytest.mark.parametrize(("address", "refusal"), CASES)
def test_every_special_purpose_range(address: str, refusal: str | None) -> None:
    verdict = address_refusal(ipaddress.ip_address(address))
    if refusal is None:
        assert verdict is None, verdict
    else:
        assert verdict is not None, f"{address} passed"
        assert refusal in verdict


@pytest.mark.parametrize("block", IPV4_SPECIAL + IPV6_SPECIAL, ids=lambda b: str(b.network))
def test_every_registry_row_has_a_case_decided_by_it(block: Block) -> None:
    """A row added to the registry tables without a case in the table above fails here."""

    def decided_by(address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip not in block.network:
            return False
        table = IPV4_SPECIAL if ip.version == 4 else IPV6_SPECIAL
        return all(
            ip not in b.network or b.network.prefixlen <= block.network.prefixlen for b in table
        )

    decided = [(address, refusal) for address, refusal in CASES if decided_by(address)]
    assert decided, f"no case for {block.describe()}"
    if block.globally_reachable:
        assert any(refusal is None for _, refusal in decided), decided
    else:
        assert any(refusal is not None for _, refusal in decided), decided


def test_the_verdicts_are_not_python_311s_is_global() -> None:
    """The registry tables decide, not ipaddress's flags, which differ on these."""
    passes = ipaddress.ip_address("2001:20::1")  # ORCHIDv2: True in the registry
    assert not passes.is_global
    assert address_refusal(passes) is None
    for refused in ("3fff::1", "5f00::1", "64:ff9b:1::1", "2002:a00:1::", "192.88.99.1"):
        ip = ipaddress.ip_address(refused)
        assert ip.is_global
        assert address_refusal(ip) is not None
    assert not ipaddress.ip_address("100.100.100.200").is_private


# --- through the URL: what the resolver and httpx would connect to -----------------------


@pytest.fixture
def guarded(settings: Any) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200 is Shared Address Space"),
        ("http://100.64.0.1:8080/hook", "Shared Address Space"),
        ("http://192.0.0.1/hook", "IPv4 Service Continuity Prefix"),
        ("http://198.18.0.1/hook", "Benchmarking"),
        ("http://[2002:a00:1::]/hook", "6to4 (2002::/16) for 10.0.0.1"),
        ("http://[64:ff9b::a9fe:a9fe]/hook", "NAT64 (64:ff9b::/96) for 169.254.169.254"),
        ("http://[::ffff:100.100.100.200]/", "for 100.100.100.200, which is Shared"),
        ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "Teredo"),
        ("http://[fc00::1]/hook", "Unique-Local"),
        # Odd spellings the system resolver (and so the connection) reads as 127.0.0.1.
        ("http://2130706433/hook", "2130706433 resolves to 127.0.0.1, which is Loopback"),
        ("http://0177.0.0.1/hook", "0177.0.0.1 resolves to 127.0.0.1, which is Loopback"),
        ("http://0x7f.1/hook", "0x7f.1 resolves to 127.0.0.1, which is Loopback"),
        ("http://127.1/hook", "127.1 resolves to 127.0.0.1, which is Loopback"),
        ("http://0x64.0x64.0x64.0xc8/", "resolves to 100.100.100.200, which is Shared"),
        ("http://1684300999/", "resolves to 100.100.100.199, which is Shared"),
    ],
)
def test_urls_are_judged_by_the_address_connected_to(url: str, reason: str) -> None:
    with pytest.raises(UnsafeWebhookUrl) as refused:
        webhook_url_check(url)
    assert reason in str(refused.value)
    assert "LEADGATE_WEBHOOK_ALLOW_PRIVATE=1" in str(refused.value)


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "https://1.1.1.1:8443/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://192.0.0.9/hook",
        "https://[64:ff9b::808:808]/hook",
        "https://[::ffff:8.8.8.8]/hook",
    ],
)
def test_public_literal_addresses_pass_unchanged(url: str) -> None:
    target = webhook_target(url)
    assert target.url == url
    assert (target.host_header, target.sni_hostname) == (None, None)


@pytest.mark.usefixtures("guarded")
def test_an_odd_spelling_of_a_public_address_is_pinned_to_what_it_means() -> None:
    target = webhook_target("http://0x08.0x08.0x08.0x08:8080/hook?a=1")
    assert target.url == "http://8.8.8.8:8080/hook?a=1"
    assert target.host_header == "0x08.0x08.0x08.0x08:8080"


def _resolver(monkeypatch: Any, *answers: tuple[str, int]) -> list[str]:
    """The guard's getaddrinfo answers with `answers` ((address, IPv6 scope id)) for any
    name; the names asked are returned."""
    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        infos: list[Any] = []
        for address, scope_id in answers:
            if ":" in address:
                infos.append(
                    (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, scope_id))
                )
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos

    fake = types.SimpleNamespace(
        getaddrinfo=getaddrinfo, gaierror=socket.gaierror, SOCK_STREAM=socket.SOCK_STREAM
    )
    monkeypatch.setattr(urls_module, "socket", fake)
    return asked


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ((("8.8.8.8", 0), ("100.100.100.200", 0)), "resolves to 100.100.100.200, which is Shared"),
        ((("2606:4700:4700::1111", 0), ("fd00::5", 0)), "resolves to fd00::5, which is Unique"),
        ((("1.1.1.1", 0), ("2002:c0a8:101::1", 0)), "for 192.168.1.1, which is Private-Use"),
        ((("fe80::1", 2),), "scoped to one network interface"),
        ((("2606:4700:4700::1111", 3),), "scoped to one network interface"),
    ],
)
def test_a_name_is_refused_if_any_of_its_addresses_is(
    monkeypatch: Any, answers: tuple[tuple[str, int], ...], reason: str
) -> None:
    asked = _resolver(monkeypatch, *answers)
    with pytest.raises(UnsafeWebhookUrl) as refused:
        webhook_url_check("https://crm.example.com/hook")
    assert str(refused.value).startswith("crm.example.com resolves to ")
    assert reason in str(refused.value)
    assert asked == ["crm.example.com"]


@pytest.mark.usefixtures("guarded")
def test_a_name_with_only_public_addresses_is_pinned_to_the_first(monkeypatch: Any) -> None:
    _resolver(monkeypatch, ("2606:4700:4700::1111", 0), ("1.1.1.1", 0))
    target = webhook_target("https://user:pw@crm.example.com/hook")
    assert target.url == "https://user:pw@[2606:4700:4700::1111]/hook"
    assert (target.host_header, target.sni_hostname) == ("crm.example.com", "crm.example.com")


@pytest.mark.usefixtures("guarded")
def test_a_name_without_addresses_is_refused(monkeypatch: Any) -> None:
    _resolver(monkeypatch)
    with pytest.raises(UnsafeWebhookUrl, match="does not resolve"):
        webhook_url_check("https://crm.example.com/hook")


@pytest.mark.usefixtures("guarded")
def test_an_answer_that_is_no_address_is_refused(monkeypatch: Any) -> None:
    _resolver(monkeypatch, ("crm.internal", 0))
    with pytest.raises(UnsafeWebhookUrl, match="not an IP address"):
        webhook_url_check("https://crm.example.com/hook")


def test_with_the_setting_every_address_is_allowed_and_nothing_is_resolved(
    monkeypatch: Any, settings: Any
) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True
    asked = _resolver(monkeypatch, ("10.0.0.1", 0))
    target = webhook_target("http://100.100.100.200/hook")
    assert target.url == "http://100.100.100.200/hook"
    webhook_url_check("http://crm.internal/hook")
    assert asked == []


@pytest.mark.usefixtures("guarded")
def test_a_url_httpx_would_read_otherwise_is_refused() -> None:
    # urlsplit finds 8.8.8.8 here; httpx cannot parse the URL at all, so the connection
    # could not be proven to go to the checked address.
    with pytest.raises(UnsafeWebhookUrl, match="cannot be pinned"):
        webhook_target("http://a\x00b@8.8.8.8/hook")
