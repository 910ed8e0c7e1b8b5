"""What a browser page complained about, for tests that expect a clean run."""

from __future__ import annotations

from typing import Any


def page_problems(page: Any) -> list[str]:
    """A list that fills with the page's uncaught errors, its console errors (a CSP block
    is one) and every 4xx/5xx answer it gets, from now on."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None
        ),
    )
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    return problems


def hosted_form_submit(page: Any, url: str, *, name: str, email: str) -> None:
    """Open a hosted gate, opt in as `name` <`email`> and wait for the form's notice."""
    page.goto(url)
    page.fill("#id_name", name)
    page.fill("#id_email", email)
    page.check("#id_subscribe")
    page.click("button[type=submit]")
    page.wait_for_selector(".lg-notice[role=status]", timeout=10_000)
