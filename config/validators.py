"""Validators shared by the APIs."""

from __future__ import annotations

from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not an exact web origin ("https://www.example.com[:port]"), or None."""
    if not isinstance(origin, str) or len(origin) > 300:
        return "Must be a string of at most 300 characters."
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"{origin!r} is not an origin like https://www.example.com."
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        return f"{origin!r} has a path, query or credentials; give only scheme://host[:port]."
    return None


def email_problem(email: str) -> str | None:
    """Real syntax check, no DNS at request time (it would make the form slow and flaky)."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None
