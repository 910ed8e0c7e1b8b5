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
