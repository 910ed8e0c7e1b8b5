"""Passive enrichment: company domain from the email, free and disposable mail detected."""

from __future__ import annotations

import pytest

from profiling.enrichment import (
    FREE_MAIL_DOMAINS,
    company_domain_for,
    email_domain,
    is_disposable_domain,
)


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("ada@acme.io", "acme.io"),
        ("Ada@ACME.io", "acme.io"),
        ("ada@acme.io.", "acme.io"),
        (" ada@acme.io ", "acme.io"),
        ("we@ird@acme.io", "acme.io"),
    ],
)
def test_email_domain(email: str, domain: str) -> None:
    assert email_domain(email) == domain


@pytest.mark.parametrize(
    "email",
    [
        "ada@gmail.com",
        "ada@GMAIL.COM",
        "ada@googlemail.com",
        "ada@outlook.com",
        "ada@hotmail.co.uk",
        "ada@web.de",
        "ada@proton.me",
    ],
)
def test_free_mail_gives_no_company(email: str) -> None:
    assert company_domain_for(email) == ""
    assert not is_disposable_domain(email_domain(email))


@pytest.mark.parametrize(
    "domain", ["mailinator.com", "sub.mailinator.com", "a.b.mailinator.com", "yopmail.com"]
)
def test_disposable_domains_and_their_subdomains(domain: str) -> None:
    assert is_disposable_domain(domain)
    assert company_domain_for(f"x@{domain}") == ""


@pytest.mark.parametrize("domain", ["acme.io", "mailinator.com.acme.io", "example-fibre.com"])
def test_ordinary_domains_are_not_disposable(domain: str) -> None:
    assert not is_disposable_domain(domain)
    assert company_domain_for(f"x@{domain}") == domain


def test_top_level_domain_alone_is_never_checked_as_disposable() -> None:
    # "com" would otherwise be looked up as a parent of every .com domain
    assert not is_disposable_domain("com")


def test_free_mail_list_is_lower_case_domains() -> None:
    assert all(d == d.lower() and "." in d and "@" not in d for d in FREE_MAIL_DOMAINS)
