"""The SSRF guard: webhooks only go to public addresses unless a setting allows more."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


class UnsafeWebhookUrl(ValueError):
    pass


def _address_is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True  # e.g. a scoped IPv6 address ("fe80::1%eth0"): never a public CRM
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


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
    and to 169.254.169.254 or 127.0.0.1 for the connection a moment later.
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
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeWebhookUrl(f"The host {host!r} does not resolve.") from None
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if _address_is_private(address):
            raise UnsafeWebhookUrl(
                f"{host} resolves to a private, loopback or link-local address; "
                "leadgate only posts to public addresses (set "
                "LEADGATE_WEBHOOK_ALLOW_PRIVATE=1 to allow this on a test set-up)."
            )
    if not addresses:
        raise UnsafeWebhookUrl(f"The host {host!r} does not resolve.")
    try:
        ipaddress.ip_address(host)
        return WebhookTarget(url)  # already a literal address: nothing to pin
    except ValueError:
        pass
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return WebhookTarget(
        url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        host_header=host + (f":{parts.port}" if parts.port else ""),
        sni_hostname=host if parts.scheme == "https" else None,
    )


def webhook_url_check(url: str) -> None:
    """Refuse URLs that would make us a proxy into a private network (SSRF).

    Contract: loopback, private and link-local targets are allowed only with
    LEADGATE_WEBHOOK_ALLOW_PRIVATE=1 (tests, the sandbox inbox). Checked when the
    endpoint is saved and again before every attempt, whose connection is pinned to the
    checked address (webhook_target).
    """
    webhook_target(url)
