"""The SSRF guard: webhooks only go to public addresses unless a setting allows more."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from profiling.services.delivery.addresses import address_refusal


class UnsafeWebhookUrl(ValueError):
    pass


def _address_refusal(address: str) -> str | None:
    """None for a globally reachable address (see addresses.py), else what it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address leadgate can judge"
    return address_refusal(ip)


def _refused(subject: str, what: str) -> UnsafeWebhookUrl:
    return UnsafeWebhookUrl(
        f"{subject} is {what}: leadgate posts only to public addresses, never to private, "
        "loopback or other special-purpose ones (set LEADGATE_WEBHOOK_ALLOW_PRIVATE=1 to "
        "allow them on a test set-up)."
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class WebhookTarget:
    """Where to connect: `url` with the host replaced by the address that was checked
    (so DNS cannot answer differently between the check and the connection), plus the
    Host header and TLS server name of the original host."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def webhook_target(url: str) -> WebhookTarget:
    """Check `url` (see webhook_url_check) and pin it to the address that passed.

    Without the pin a DNS-rebinding host could resolve to a public address for the check
    and to 169.254.169.254 or 127.0.0.1 for the connection a moment later. The host is
    judged by what the system resolver makes of it, as the connection would be: the
    resolver also reads "2130706433", "0x7f.1", "0177.0.0.1" and "127.1" as 127.0.0.1.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeWebhookUrl("Use an http:// or https:// URL with a host name.")
    if settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE:
        return WebhookTarget(url)
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeWebhookUrl("The URL's port is not a number from 0 to 65535.") from None
    # A literal address is the one connected to; any other host is what the system
    # resolver makes of it, as it will be for the connection.
    sockaddrs: list[tuple[Any, ...]] = [(host, port)]
    if not _is_ip_literal(host):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise UnsafeWebhookUrl(f"The host {host!r} does not resolve.") from None
        sockaddrs = [info[4] for info in infos]
    addresses: list[str] = []
    for sockaddr in sockaddrs:
        address = str(sockaddr[0])
        # An IPv6 answer's scope id (sockaddr[3]) ties it to one interface: never public.
        scoped = len(sockaddr) >= 4 and bool(sockaddr[3])
        what = "an address scoped to one network interface" if scoped else None
        what = what or _address_refusal(address)
        if what:
            subject = address if host == address else f"{host} resolves to {address}, which"
            raise _refused(subject, what)
        addresses.append(address)
    if not addresses:
        raise UnsafeWebhookUrl(f"The host {host!r} does not resolve.")
    # Every answer passed; connect to the first.
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    # httpx parses the URL it connects to with its own parser: make sure it reads the
    # address that was checked, and nothing else.
    try:
        connects_to = ipaddress.ip_address(httpx.URL(pinned).host)
    except (httpx.InvalidURL, ValueError):
        connects_to = None
    if connects_to != ipaddress.ip_address(address):
        raise UnsafeWebhookUrl("The URL cannot be pinned to the address that was checked.")
    if _is_ip_literal(host):
        return WebhookTarget(pinned)  # a literal address: no Host header or SNI to keep
    return WebhookTarget(
        url=pinned,
        host_header=host + (f":{parts.port}" if parts.port else ""),
        sni_hostname=host if parts.scheme == "https" else None,
    )


def webhook_url_check(url: str) -> None:
    """Refuse URLs that would make us a proxy into a private network (SSRF).

    Contract: only globally reachable addresses (IANA's special-purpose registries, see
    addresses.py) unless LEADGATE_WEBHOOK_ALLOW_PRIVATE=1 (tests, the sandbox inbox); a
    host that resolves to several addresses is refused if any one of them is refused.
    Checked when the endpoint is saved and again before every attempt, whose connection
    is pinned to the checked address (webhook_target).
    """
    webhook_target(url)
