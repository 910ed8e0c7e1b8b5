"""Passive enrichment from what we already have (never asked on a form)."""

from __future__ import annotations

from functools import lru_cache

FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "hotmail.de",
        "outlook.com",
        "outlook.fr",
        "live.com",
        "live.co.uk",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "zoho.com",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "virgilio.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "btinternet.com",
        "sky.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
    ]
)


@lru_cache(maxsize=1)
def _disposable_blocklist() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower().rstrip(".")


def is_disposable_domain(domain: str) -> bool:
    # The list holds exact domains; check every parent so sub.mailinator.com matches too.
    parts = domain.split(".")
    blocklist = _disposable_blocklist()
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))


def company_domain_for(email: str) -> str:
    """The email's domain when it plausibly names a company; blank for free/disposable mail."""
    domain = email_domain(email)
    if domain in FREE_MAIL_DOMAINS or is_disposable_domain(domain):
        return ""
    return domain


# --- touch sources ---------------------------------------------------------------------
# Social networks by referrer host (the host or any parent domain) and by utm_source.
SOCIAL_HOSTS: dict[str, str] = {
    "linkedin.com": "LinkedIn",
    "lnkd.in": "LinkedIn",
    "twitter.com": "X/Twitter",
    "x.com": "X/Twitter",
    "t.co": "X/Twitter",
    "facebook.com": "Facebook",
    "fb.com": "Facebook",
    "fb.me": "Facebook",
    "instagram.com": "Instagram",
    "reddit.com": "Reddit",
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "xing.com": "XING",
    "mastodon.social": "Mastodon",
    "bsky.app": "Bluesky",
}
SOCIAL_SOURCES: dict[str, str] = {
    "linkedin": "LinkedIn",
    "twitter": "X/Twitter",
    "x": "X/Twitter",
    "facebook": "Facebook",
    "fb": "Facebook",
    "instagram": "Instagram",
    "reddit": "Reddit",
    "youtube": "YouTube",
    "xing": "XING",
}
SEARCH_HOSTS = ("google.", "bing.com", "duckduckgo.com", "yahoo.", "ecosia.org", "baidu.com")
SOCIAL_MEDIUMS = frozenset({"social", "social-media", "socialmedia", "sm", "social_paid"})
PAID_MEDIUMS = frozenset({"cpc", "ppc", "paid", "paidsearch", "display", "cpm"})


def referrer_host(referrer: str) -> str:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(referrer.strip()).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def social_network(*, utm_source: str = "", referrer: str = "") -> str:
    """The social network a visit came from ("LinkedIn", ...), or ""."""
    source = utm_source.strip().lower()
    if source in SOCIAL_SOURCES:
        return SOCIAL_SOURCES[source]
    for name, network in SOCIAL_SOURCES.items():
        if source.startswith(name + "."):  # e.g. linkedin.com as a utm_source
            return network
    host = referrer_host(referrer) if referrer else ""
    parts = host.split(".")
    for i in range(len(parts) - 1):
        by_host = SOCIAL_HOSTS.get(".".join(parts[i:]))
        if by_host:
            return by_host
    return ""


def touch_channel(*, utm_source: str = "", utm_medium: str = "", referrer: str = "") -> str:
    """A coarse channel: social, paid, email, search, campaign, referral or direct."""
    medium = utm_medium.strip().lower()
    if social_network(utm_source=utm_source, referrer=referrer) or medium in SOCIAL_MEDIUMS:
        return "social"
    if medium in PAID_MEDIUMS:
        return "paid"
    if medium in {"email", "e-mail", "newsletter"}:
        return "email"
    host = referrer_host(referrer) if referrer else ""
    if host and any(s in host for s in SEARCH_HOSTS):
        return "search"
    if utm_source or medium:
        return "campaign"
    if host:
        return "referral"
    return "direct"
