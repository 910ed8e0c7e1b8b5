"""config/settings.py's hardened defaults, each in a fresh process as an operator starts
leadgate: no secret key means no start (unless debugging), and LEADGATE_HTTPS=1 with a
real key passes Django's deployment checklist."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Read by config/settings.py and so set per test here, never inherited from the run.
OWN_VARIABLES = ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "LEADGATE_HTTPS")
SETUP = "import django; django.setup()"


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def real_key() -> str:
    return secrets.token_urlsafe(50)  # 67 characters, as the README tells operators


@pytest.mark.parametrize(
    "command", [["-c", SETUP], ["manage.py", "check"]], ids=["django.setup", "manage.py check"]
)
@pytest.mark.parametrize("key", [None, ""], ids=["unset", "empty"])
def test_without_a_secret_key_leadgate_refuses_to_start_and_says_why(
    command: list[str], key: str | None
) -> None:
    env = {"DJANGO_DEBUG": "0"}
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    result = run(command, **env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    # How to make one, in the message itself.
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_debug_starts_without_a_secret_key() -> None:
    result = run(["manage.py", "check"], DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_with_a_secret_key_it_starts() -> None:
    result = run(["-c", SETUP + "; print('started')"], DJANGO_SECRET_KEY=real_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_https_behind_a_proxy_passes_the_deployment_checklist() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SECRET_KEY=real_key(),
        LEADGATE_HTTPS="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_the_same_checklist_names_what_it_turns_on() -> None:
    """The check above can fail, and LEADGATE_HTTPS is what makes it pass."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DJANGO_SECRET_KEY=real_key()
    )
    assert result.returncode != 0
    report = result.stdout + result.stderr
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in report, check


PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory

middleware = SecurityMiddleware(lambda request: HttpResponse("ok"))
factory = RequestFactory(headers={"Host": "localhost"})
plain = middleware(factory.get("/g/x"))
proxied = middleware(factory.get("/g/x", headers={"X-Forwarded-Proto": "https"}))
print(json.dumps({
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
    "hsts_seconds": settings.SECURE_HSTS_SECONDS,
    "hsts_subdomains": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "hsts_preload": settings.SECURE_HSTS_PRELOAD,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
}))
"""


def test_https_redirects_plain_requests_and_trusts_the_proxys_header() -> None:
    result = run(["-c", PROBE], DJANGO_SECRET_KEY=real_key(), LEADGATE_HTTPS="1")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["hsts_seconds"] == 365 * 24 * 3600
    assert seen["hsts_subdomains"] is True
    assert seen["hsts_preload"] is False
    assert seen["session_secure"] is True
    assert seen["csrf_secure"] is True
    assert seen["plain"] == [301, "https://localhost/g/x"]
    assert seen["proxied"] == [200, "max-age=31536000; includeSubDomains"]


def test_https_is_off_by_default() -> None:
    result = run(["-c", PROBE], DJANGO_SECRET_KEY=real_key())
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["proxy_header"] is None
    assert seen["plain"] == [200, None]
    assert seen["session_secure"] is False


@pytest.mark.parametrize("writers", ["0", "-1", "two"])
def test_an_invalid_number_of_ingest_writers_stops_the_start_with_its_name(writers: str) -> None:
    """0 writers would queue every small beacon behind a writer that never comes."""
    result = run(["-c", SETUP], DJANGO_SECRET_KEY=real_key(), LEADGATE_INGEST_GROUP_WRITERS=writers)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert f"LEADGATE_INGEST_GROUP_WRITERS={writers!r}" in result.stderr


def test_one_ingest_writer_is_enough_to_start() -> None:
    probe = (
        SETUP + "; from django.conf import settings; print(settings.LEADGATE_INGEST_GROUP_WRITERS)"
    )
    result = run(["-c", probe], DJANGO_SECRET_KEY=real_key(), LEADGATE_INGEST_GROUP_WRITERS="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
