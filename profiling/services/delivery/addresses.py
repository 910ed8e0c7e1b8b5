"""Which IP addresses a webhook may be posted to.

Every address is judged against IANA's IPv4 and IPv6 Special-Purpose Address Registries
(https://www.iana.org/assignments/iana-ipv4-special-registry and
https://www.iana.org/assignments/iana-ipv6-special-registry, transcribed below row by row
with their "Globally Reachable" column). The most specific row that holds an address
decides; only a row marked True admits it (so 192.0.0.9 passes although 192.0.0.0/24 does
not). An address in no row must also be ordinary unicast space: not IPv4 multicast, and
for IPv6 inside 2000::/3, the only block IANA allocates for global unicast (the rest of
the IPv6 space is reserved by the IETF, or is link-local, unique-local or multicast).

Python 3.11's `ipaddress` flags are not used: `is_private` misses 100.64.0.0/10, and
`is_global` passes 192.88.99.0/24, 3fff::/20, 5f00::/16, 64:ff9b:1::/48, 100:0:0:1::/64
and private IPv4 addresses inside NAT64, 6to4 and IPv4-compatible addresses. IPv6 forms that carry an IPv4 address are judged by
that IPv4 address as well: a packet to them ends at the IPv4 host (IPv4-mapped, NAT64) or
is relayed to it (6to4, Teredo).

When IANA adds a row, add it here, with a case in tests/profiling/test_delivery_urls.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network


@dataclass(frozen=True)
class Block:
    network: IPv4Network | IPv6Network
    name: str
    rfc: str
    # The registry's "Globally Reachable" column. None where it says N/A (6to4, Teredo:
    # it depends on the IPv4 address inside) or leaves it blank (terminated rows).
    globally_reachable: bool | None

    def describe(self) -> str:
        return f"{self.name} ({self.network}, {self.rfc})"


def _block(cidr: str, name: str, rfc: str, globally_reachable: bool | None) -> Block:
    return Block(ip_network(cidr), name, rfc, globally_reachable)


# IANA IPv4 Special-Purpose Address Registry, every row; the last argument is the
# row's "Globally Reachable" column.
IPV4_SPECIAL: tuple[Block, ...] = (
    _block("0.0.0.0/8", '"This network"', "RFC 791", False),
    _block("0.0.0.0/32", '"This host on this network"', "RFC 1122", False),
    _block("10.0.0.0/8", "Private-Use", "RFC 1918", False),
    # Carrier-grade NAT, Tailscale, and cloud metadata services (100.100.100.200).
    _block("100.64.0.0/10", "Shared Address Space", "RFC 6598", False),
    _block("127.0.0.0/8", "Loopback", "RFC 1122", False),
    _block("169.254.0.0/16", "Link Local", "RFC 3927", False),
    _block("172.16.0.0/12", "Private-Use", "RFC 1918", False),
    _block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890", False),
    _block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", False),
    _block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", False),
    _block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", True),
    _block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    _block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880", False),
    _block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880", False),
    _block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", False),
    _block("192.31.196.0/24", "AS112-v4", "RFC 7535", True),
    _block("192.52.193.0/24", "AMT", "RFC 7450", True),
    # Terminated in 2015: the registry leaves its flags blank.
    _block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", None),
    _block("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", False),
    _block("192.168.0.0/16", "Private-Use", "RFC 1918", False),
    _block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", True),
    _block("198.18.0.0/15", "Benchmarking", "RFC 2544", False),
    _block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", False),
    _block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", False),
    _block("240.0.0.0/4", "Reserved", "RFC 1112", False),
    _block("255.255.255.255/32", "Limited Broadcast", "RFC 919", False),
)

# IANA IPv6 Special-Purpose Address Registry, every row; the last argument is the
# row's "Globally Reachable" column.
IPV6_SPECIAL: tuple[Block, ...] = (
    _block("::1/128", "Loopback Address", "RFC 4291", False),
    _block("::/128", "Unspecified Address", "RFC 4291", False),
    # False in the registry; judged by the IPv4 address inside (see address_refusal).
    _block("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", False),
    # True, and RFC 6052 section 3.1 forbids it to carry a non-global IPv4 address.
    _block("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", True),
    _block("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local use)", "RFC 8215", False),
    _block("100::/64", "Discard-Only Address Block", "RFC 6666", False),
    _block("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", False),
    _block("2001::/23", "IETF Protocol Assignments", "RFC 2928", False),
    _block("2001::/32", "TEREDO", "RFC 4380", None),
    _block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", True),
    _block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    _block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", True),
    _block("2001:2::/48", "Benchmarking", "RFC 5180", False),
    _block("2001:3::/32", "AMT", "RFC 7450", True),
    _block("2001:4:112::/48", "AS112-v6", "RFC 7535", True),
    # Terminated in 2014: the registry leaves its flags blank.
    _block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", None),
    _block("2001:20::/28", "ORCHIDv2", "RFC 7343", True),
    _block("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", True),
    _block("2001:db8::/32", "Documentation", "RFC 3849", False),
    _block("2002::/16", "6to4", "RFC 3056", None),
    _block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", True),
    _block("3fff::/20", "Documentation", "RFC 9637", False),
    _block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", False),
    _block("fc00::/7", "Unique-Local", "RFC 4193", False),
    _block("fe80::/10", "Link-Local Unicast", "RFC 4291", False),
)

# Not in the special-purpose registries (they have registries of their own) and never a
# unicast destination.
IPV4_MULTICAST = _block("224.0.0.0/4", "Multicast", "RFC 5771", False)
IPV6_MULTICAST = _block("ff00::/8", "Multicast", "RFC 4291", False)
# IANA's IPv6 Address Space registry allocates only this block for global unicast.
IPV6_GLOBAL_UNICAST = IPv6Network("2000::/3")
# Outside 2000::/3 and so refused anyway; named so that the reason says what they hold.
IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated by RFC 4291 section 2.5.5.1
IPV4_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 2765 (obsolete)

NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
SIX_TO_FOUR = IPv6Network("2002::/16")
TEREDO = IPv6Network("2001::/32")


def _most_specific(address: IPv4Address | IPv6Address, blocks: tuple[Block, ...]) -> Block | None:
    found: Block | None = None
    for block in blocks:
        if address in block.network and (
            found is None or block.network.prefixlen > found.network.prefixlen
        ):
            found = block
    return found


def _ipv4_refusal(address: IPv4Address) -> str | None:
    block = _most_specific(address, IPV4_SPECIAL)
    if block is not None:
        return None if block.globally_reachable else block.describe()
    if address in IPV4_MULTICAST.network:
        return IPV4_MULTICAST.describe()
    return None


def _embedded_refusal(lead: str, inner: IPv4Address) -> str | None:
    refusal = _ipv4_refusal(inner)
    return f"{lead} {inner}, which is {refusal}" if refusal else None


def _ipv6_refusal(address: IPv6Address) -> str | None:
    if address.scope_id:
        return "an address scoped to one network interface"
    if address.ipv4_mapped is not None:
        # The kernel sends IPv4 packets to the mapped address: it is that destination.
        return _embedded_refusal("IPv4-mapped (::ffff:0:0/96) for", address.ipv4_mapped)
    if address in NAT64_WELL_KNOWN:
        # The NAT64 gateway forwards to the IPv4 address in the last 32 bits.
        inner = IPv4Address(int(address) & 0xFFFFFFFF)
        return _embedded_refusal(f"NAT64 ({NAT64_WELL_KNOWN}) for", inner)
    if address in SIX_TO_FOUR and address.sixtofour is not None:
        # The relay tunnels to the IPv4 address in bits 16-48.
        embedded = _embedded_refusal(f"6to4 ({SIX_TO_FOUR}) for", address.sixtofour)
        if embedded:
            return embedded
    if address in TEREDO and address.teredo is not None:
        # (server, client): the client is the last 32 bits inverted, the server bits 32-64.
        server, client = address.teredo
        embedded = _embedded_refusal(f"Teredo ({TEREDO}) with client", client)
        embedded = embedded or _embedded_refusal(f"Teredo ({TEREDO}) with server", server)
        if embedded:
            return embedded
    block = _most_specific(address, IPV6_SPECIAL)
    if block is not None:
        # A None (N/A) verdict is not True: 6to4 and Teredo stay refused even around a
        # public IPv4 address.
        return None if block.globally_reachable else block.describe()
    if address in IPV6_MULTICAST.network:
        return IPV6_MULTICAST.describe()
    if address in IPV4_TRANSLATED:
        inner = IPv4Address(int(address) & 0xFFFFFFFF)
        return f"an IPv4-translated address for {inner} ({IPV4_TRANSLATED}, RFC 2765)"
    if address in IPV4_COMPATIBLE:
        inner = IPv4Address(int(address) & 0xFFFFFFFF)
        return f"a deprecated IPv4-compatible address for {inner} ({IPV4_COMPATIBLE}, RFC 4291)"
    if address not in IPV6_GLOBAL_UNICAST:
        return f"outside the global unicast space {IPV6_GLOBAL_UNICAST} (reserved by the IETF)"
    return None


def address_refusal(address: IPv4Address | IPv6Address) -> str | None:
    """None when `address` is globally reachable; otherwise what it is, as a phrase
    ("Shared Address Space (100.64.0.0/10, RFC 6598)") that completes "… is ___"."""
    if isinstance(address, IPv4Address):
        return _ipv4_refusal(address)
    return _ipv6_refusal(address)
