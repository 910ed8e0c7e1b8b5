"""`manage.py demo` seeds the model case and is safe to run twice."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from forms_app.demo.content import network_map_pdf
from forms_app.models import Gate, GateFile
from profiling.models import ScoringRule, ScoringSettings, WebhookEndpoint

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _run(*args: str, history: bool = False) -> str:
    """The command; without its sixty days of history unless asked (tests/forms_app/
    test_demo_history.py covers that, and it takes a few seconds)."""
    out = StringIO()
    call_command("demo", *args, *(() if history else ("--no-history",)), stdout=out)
    return out.getvalue()


def test_demo_seeds_the_model_case_and_is_idempotent(media_root: Path) -> None:
    first = _run()
    secret = WebhookEndpoint.objects.get().secret
    second = _run()

    gate = Gate.objects.get(slug="network-vbook")
    assert gate.title == "Reliable connectivity: the e-book"
    assert gate.stage == "interest"
    assert gate.headline
    assert gate.description
    assert {"http://localhost:8000", "http://127.0.0.1:8000"} <= set(gate.allowed_origins)
    keys = list(gate.sections.values_list("key", flat=True))
    assert keys == [
        "why-fiber",
        "outages-cost",
        "redundancy",
        "latency",
        "security",
        "moving-to-fiber",
    ]
    assert all(s.body and s.topics for s in gate.sections.all())

    map_file = GateFile.objects.get(gate=gate, key="network-map")
    assert map_file.title == "Network map (PDF)"
    with map_file.upload.open("rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    # A second run does not store the file again.
    assert len(list((media_root / "gate-files").iterdir())) == 1
    assert "already up to date" in second

    s = ScoringSettings.objects.get(pk=1)
    assert (s.warm_threshold, s.hot_threshold) == (30, 80)
    read = ScoringRule.objects.get(name="Read e-book sections")
    assert (read.event_type, read.gate_id, read.points, read.max_points, read.min_duration_ms) == (
        "section_view",
        gate.id,
        10,
        60,
        5000,
    )
    download = ScoringRule.objects.get(name="Downloaded the network map")
    assert (download.event_type, download.file_key, download.points, download.makes_hot) == (
        "download",
        "network-map",
        50,
        True,
    )
    # And the two on reading the map inline (test_the_map_is_a_multi_page_pdf_read_inline).
    assert ScoringRule.objects.count() == 4

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "http://127.0.0.1:8000/sandbox/crm/"
    assert endpoint.grades == ["warm", "hot"]
    assert endpoint.secret == secret  # kept across runs

    user = get_user_model().objects.get(username="demo")
    assert user.is_staff
    assert user.is_superuser
    assert user.check_password("demo")
    token = Token.objects.get(user=user)
    for output in (first, second):
        assert token.key in output
        assert "http://127.0.0.1:8000/g/network-vbook" in output
        assert "/sandbox/crm/" in output
        assert "/admin/" in output
        assert "/api/docs/" in output
        # The marketer's way in comes first.
        opened = output.split("Open:", 1)[1]
        assert opened.split()[:3] == ["marketer", "workspace", "http://127.0.0.1:8000/app/"]
    assert "Created   user, gate, thresholds" in first
    assert "Created" not in second


def test_history_gives_the_content_analytics_a_drop_off() -> None:
    from profiling.content_analytics import gate_content_report

    first = _run(history=True)
    assert "http://127.0.0.1:8000/app/gates/network-vbook/content" in first
    report = gate_content_report(gate=Gate.objects.get(slug="network-vbook"))
    readers = [s.readers for s in report.sections]
    assert report.visitors > readers[0] > 0  # not every visitor reads
    assert readers == sorted(readers, reverse=True)  # and fewer read on
    assert 0 < readers[-1] < readers[0]
    assert all(s.median_active_ms for s in report.sections if s.readers)
    assert any(s.read < s.readers for s in report.sections)  # some only skim


def test_base_url_moves_the_single_sandbox_endpoint() -> None:
    _run()
    origins = Gate.objects.get(slug="network-vbook").allowed_origins
    _run("--base-url", "http://localhost:9000/")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "http://localhost:9000/sandbox/crm/"
    # The gate's origins are the marketer's once the gate exists (its own origin, the
    # hosted page's, is always allowed: config/cors.py).
    assert Gate.objects.get(slug="network-vbook").allowed_origins == origins


def test_a_second_run_keeps_what_a_marketer_changed(media_root: Path) -> None:
    """Edited through the services the workspace calls, between two runs: every edit
    survives, nothing is duplicated, and the summary says what was kept."""
    from forms_app.services.gates import gate_save
    from profiling.services.endpoints import webhook_endpoint_save
    from profiling.services.rules import scoring_rule_save, scoring_settings_update

    _run()
    gate = Gate.objects.get(slug="network-vbook")
    gate_save(
        gate=gate,
        data={
            "allowed_origins": ["https://www.brightline.example"],
            "headline": "Our own headline",
            "description": "Our own words.",
        },
    )
    read = ScoringRule.objects.get(name="Read e-book sections")
    scoring_rule_save(rule=read, data={"points": 25, "max_points": 75})
    scoring_settings_update(data={"warm_threshold": 40, "hot_threshold": 120})
    sandbox = WebhookEndpoint.objects.get()
    webhook_endpoint_save(
        endpoint=sandbox, data={"url": "https://93.184.216.34/hooks/leadgate", "grades": ["hot"]}
    )
    user = get_user_model().objects.get(username="demo")
    user.set_password("a-marketer-choice")
    user.save()

    second = _run()

    gate.refresh_from_db()
    assert gate.allowed_origins == ["https://www.brightline.example"]
    assert (gate.headline, gate.description) == ("Our own headline", "Our own words.")
    read.refresh_from_db()
    assert (read.points, read.max_points) == (25, 75)
    assert ScoringRule.objects.count() == 4
    s = ScoringSettings.objects.get(pk=1)
    assert (s.warm_threshold, s.hot_threshold) == (40, 120)
    sandbox.refresh_from_db()
    assert (sandbox.url, sandbox.grades) == ("https://93.184.216.34/hooks/leadgate", ["hot"])
    # The sandbox inbox's webhook was missing (its URL now names the CRM): made again.
    assert WebhookEndpoint.objects.filter(url="http://127.0.0.1:8000/sandbox/crm/").count() == 1
    user.refresh_from_db()
    assert user.check_password("a-marketer-choice")
    assert "warm at 40, hot at 120" in second
    assert "Kept      user, gate, thresholds, rule" in second
    assert "password 'demo'" not in second


def test_a_second_run_keeps_a_switched_off_webhook_and_revives_one_leadgate_disabled() -> None:
    _run()
    endpoint = WebhookEndpoint.objects.get()
    endpoint.is_active = False
    endpoint.grades = ["hot"]
    endpoint.save()
    _run()
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.grades) == (False, ["hot"])

    # Switched off by leadgate after failures (the demo server was down): on again.
    endpoint.disabled_reason = "Failing for 3 days."
    endpoint.save()
    _run()
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.grades) == (True, "", ["hot"])


def test_a_map_whose_stored_bytes_are_gone_is_written_again(media_root: Path) -> None:
    _run()
    map_file = GateFile.objects.get(key="network-map")
    Path(map_file.upload.path).unlink()
    assert "written again" in _run()
    map_file.refresh_from_db()
    with map_file.upload.open("rb") as handle:
        assert handle.read() == network_map_pdf()


def test_demo_warns_when_private_webhooks_are_not_allowed(settings: Any) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    assert "LEADGATE_WEBHOOK_ALLOW_PRIVATE" in _run()
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True
    assert "LEADGATE_WEBHOOK_ALLOW_PRIVATE" not in _run()


def test_network_map_is_a_well_formed_pdf(tmp_path: Path) -> None:
    pdf = network_map_pdf()
    assert pdf == network_map_pdf()  # deterministic: reruns can compare bytes
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF\n")
    # The xref offsets point at the objects they name.
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[startxref:].startswith(b"xref\n")
    entries = pdf[startxref:].split(b"\n")[3:10]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split(b" ")[0])
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    # The drawing: text, lines, rectangles and Bezier circles.
    stream = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    content = zlib.decompress(stream).decode("latin-1")
    assert "(Brightline Fibre: metro network map) Tj" in content
    assert " re " in content or content.count(" re f") > 0
    assert " c " in content
    assert " l " in content
    if shutil.which("pdftotext"):
        path = tmp_path / "map.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "Brightline Fibre: metro network map" in text
        assert "Harbor City" in text


def _demo_postgres(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo_postgres.py"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """The postgres processes serving `pgdata`: the server names it on its command line,
    and it and its children work in it."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] != "postgres":
            continue
        try:
            if str(pgdata) in (proc.info["cmdline"] or []) or proc.cwd() == str(pgdata):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture
def pgdata() -> Iterator[Path]:
    """A data folder for the embedded server, outside pytest's tmp_path: pytest makes
    /tmp/pytest-of-<user> private again whenever a pytest starts, and the server (a
    user of its own when run as root) must reach its folder throughout."""
    parent = Path(tempfile.mkdtemp(prefix="leadgate-demo-pg-")).resolve()
    yield parent / "pgdata"
    shutil.rmtree(parent, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # The script runs as a person would: its own database, key and static folder.
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_SECRET_KEY",
            "LEADGATE_STATIC_ROOT",
        }
    }
    env.update(extra)
    return env


def test_demo_script_reports_a_port_in_use_before_it_changes_anything(pgdata: Path) -> None:
    """With the port taken, demo.sh says so and how to pick another, and stops before it
    starts a database, migrates or seeds."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(REPO / "scripts" / "demo.sh")],
            env=_script_env(
                LEADGATE_DEMO_NO_SERVE="1", PORT=str(port), LEADGATE_DEMO_PGDATA=str(pgdata)
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    suggested = re.search(r"PORT=(\d+) \./scripts/demo\.sh", result.stderr)
    assert suggested is not None, result.stderr
    assert int(suggested.group(1)) != port
    for step in ("embedded PostgreSQL", "Migrating", "Seeding"):
        assert step not in result.stdout
    assert not pgdata.exists()


def test_demo_script_runs_on_embedded_postgresql(tmp_path: Path, pgdata: Path) -> None:
    """With no DATABASE_URL, scripts/demo.sh starts the embedded PostgreSQL (data in
    LEADGATE_DEMO_PGDATA), migrates and seeds it, says so in its banner, and with
    LEADGATE_DEMO_NO_SERVE=1 stops the server again before it exits.

    Cheap in the suite: scripts/test.sh installed the venv and wrote the shared install
    stamp, so demo.sh skips pip and only starts the server, migrates, seeds and prints.

    No secret key in the environment and debug off: leadgate would refuse to start, so
    the run passing shows that demo.sh made (or reused) its own key and exported it.
    """
    env = _script_env()
    port = _free_port()
    env.update(
        DJANGO_DEBUG="0",
        LEADGATE_DEMO_NO_SERVE="1",
        PORT=str(port),
        LEADGATE_DEMO_PGDATA=str(pgdata),
        LEADGATE_MEDIA_ROOT=str(tmp_path / "media"),
    )
    manifest = REPO / "staticfiles" / "staticfiles.json"  # collectstatic's, in the default place
    started_at = time.time()
    try:
        result = subprocess.run(
            [str(REPO / "scripts" / "demo.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-6000:]
        assert f"EMBEDDED MODE: embedded PostgreSQL, data in {pgdata}" in result.stdout
        assert "Stopping the embedded PostgreSQL" in result.stdout
        assert f"http://127.0.0.1:{port}/g/network-vbook" in result.stdout
        banner = result.stdout.split("-" * 78, 1)[1]
        assert banner.split()[:3] == ["Marketer", "workspace", f"http://127.0.0.1:{port}/app/"]
        # The sandbox's role logins, not the superuser, are the way into the workspace.
        lines = banner.strip("\n").splitlines()
        assert re.fullmatch(r"   log in as marketer / [a-z2-7-]{14}  \(marketer: .+\)", lines[1])
        assert re.fullmatch(r"   log in as sales / [a-z2-7-]{14}  \(sales: .+\)", lines[2])
        assert "   admin and sandbox inboxes: user 'demo', password 'demo'" in lines
        assert "History   60 days:" in result.stdout
        assert "Would start:" in result.stdout
        assert "gunicorn config.wsgi:application" in result.stdout
        # Static files collected as production serves them (hashed, compressed).
        assert "Collecting static files" in result.stdout
        assert manifest.stat().st_mtime >= started_at - 1
        assert (manifest.parent / "leadgate.js.br").exists()
        key_file = REPO / ".demo-secret-key"
        assert f"Secret key         {key_file} (git-ignored" in result.stdout
        assert len(key_file.read_text().strip()) >= 50
        assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(key_file)], cwd=REPO, check=False, timeout=30
        )
        assert ignored.returncode == 0, "the demo's key must never be committed"
        # The server this run started is gone, and no postgres process uses its data.
        assert (pgdata / "PG_VERSION").exists()
        assert not (pgdata / "postmaster.pid").exists()
        assert _postgres_processes(pgdata) == []
        assert _demo_postgres(env, "running").returncode == 1

        # What the demo seeded is in that server's data: start it again and look.
        started = _demo_postgres(env, "start")
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("postgres://postgres@/leadgate?host=")
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            gate = conn.execute(
                "SELECT title FROM forms_app_gate WHERE slug = 'network-vbook'"
            ).fetchone()
            trigram = conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
            ).fetchone()
            version = conn.execute("SHOW server_version_num").fetchone()
        assert gate is not None
        assert trigram is not None
        assert version is not None
        assert int(version[0]) >= 180000  # the wheel's PostgreSQL 18
    finally:
        _demo_postgres(env, "stop")
    assert _postgres_processes(pgdata) == []


def test_admin_pages_for_the_demo_data_render(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Every model is in the admin; its list and change pages work on the seeded demo."""
    from django.contrib import admin

    from profiling.models import (
        Delivery,
        DeliveryStatus,
        Event,
        GradeChange,
        Lead,
        SandboxMessage,
        Visitor,
    )

    _run()
    client.force_login(get_user_model().objects.get(username="demo"))
    gate = Gate.objects.get(slug="network-vbook")
    lead = Lead.objects.create(email="ada@example-fibre.com", name="Ada", grade="hot", score=90)
    visitor = Visitor.objects.create(id=uuid.uuid4(), lead=lead)
    from django.utils import timezone

    Event.objects.create(
        id=uuid.uuid4(),
        visitor=visitor,
        lead=lead,
        type="download",
        gate=gate,
        file_key="network-map",
        occurred_at=timezone.now(),
        received_at=timezone.now(),
    )
    change = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    endpoint = WebhookEndpoint.objects.get()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        grade_change=change,
        lead=lead,
        payload={"type": "x"},
        status=DeliveryStatus.FAILED,
    )
    SandboxMessage.objects.create(webhook_id="msg_1", body="{}", headers={})

    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label not in {"forms_app", "profiling"}:
            continue
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert client.get(url).status_code == 200, url
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(f"{url}{obj.pk}/change/").status_code == 200, url
    registered = {m._meta.model_name for m in admin.site._registry}
    assert {
        "gate",
        "submission",
        "lead",
        "visitor",
        "event",
        "scoringrule",
        "scoringsettings",
        "gradechange",
        "webhookendpoint",
        "delivery",
        "sandboxmessage",
    } <= registered
    # The secret is not in the endpoint list.
    assert endpoint.secret not in client.get("/admin/profiling/webhookendpoint/").content.decode()

    # The "redeliver" action puts a failed delivery back in the queue.
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/admin/profiling/delivery/",
            {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


def test_the_demo_copy_matches_what_the_hosted_page_shows(client: Any) -> None:
    """What the e-book's texts promise is on the page: six chapters, a network map under
    "Downloads" (not "below": the downloads sit beside or above the reading), and the
    demo's thresholds make three sections read warm, as demo.sh says."""
    from forms_app.access import access_token_make
    from forms_app.demo.content import GATE, SECTIONS
    from profiling.models import Lead, Visitor

    _run()
    gate = Gate.objects.get(slug="network-vbook")
    assert str(GATE["description"]).startswith("Six short chapters")
    assert len(SECTIONS) == 6
    lead = Lead.objects.create(email="ada@example-fibre.com", name="Ada")
    visitor = Visitor.objects.create(id=uuid.uuid4(), lead=lead)
    token = access_token_make(lead_id=lead.id, visitor_id=visitor.id, gate_slug=gate.slug)
    html = client.get(f"/g/{gate.slug}", {"t": token}).content.decode()
    assert html.count('class="lg-section"') == 6
    assert '<h2 id="downloads-title">Downloads</h2>' in html
    assert "Network map (PDF)" in html
    assert "under Downloads" in html
    assert "map below" not in html
    # demo.sh: "read three sections (warm)": 10 points a section, warm at 30.
    read = ScoringRule.objects.get(name="Read e-book sections")
    assert 3 * read.points >= ScoringSettings.objects.get(pk=1).warm_threshold > 2 * read.points
    banner = (REPO / "scripts" / "demo.sh").read_text()
    assert "read three sections" in banner
    assert "/app/" in banner


def test_the_map_is_a_multi_page_pdf_read_inline(
    media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        output = _run()
    assert "/g/network-vbook/read/network-map" in output
    map_file = GateFile.objects.get(key="network-map")
    assert map_file.read_inline
    assert (map_file.pdf_status, map_file.pdf_page_count) == ("ready", 6)
    chapters = list(map_file.pdf_chapters.values_list("key", "first_page", "last_page"))
    assert chapters == [
        ("coverage", 1, 2),
        ("buildings-on-net", 3, 4),
        ("pricing", 5, 5),
        ("service-levels", 6, 6),
    ]
    pricing = map_file.pdf_pages.get(number=5)
    assert pricing.image
    assert "Dual Path 10G" in pricing.text
    # Reading it inline scores: pages of the map, and its pricing chapter.
    rules = {r.name: r for r in ScoringRule.objects.filter(file_key="network-map")}
    pages_rule = rules["Read pages of the network map"]
    assert (pages_rule.event_type, pages_rule.section_key, pages_rule.max_points) == (
        "section_view",
        "",
        30,
    )
    chapter_rule = rules["Read the map's pricing chapter"]
    assert chapter_rule.section_key == "pricing"
    chapter_rule.full_clean()
    # Downloading it stays the hot trigger.
    assert rules["Downloaded the network map"].makes_hot


def test_the_seeds_earlier_one_page_map_is_replaced(media_root: Path) -> None:
    _run()
    map_file = GateFile.objects.get(key="network-map")
    # As an earlier seed left it: its own one-page map, a download only.
    GateFile.objects.filter(pk=map_file.pk).update(read_inline=False, pdf_status="")
    with map_file.upload.open("wb") as handle:
        handle.write(b"%PDF-1.4\n<< /Title (old map) /Producer (leadgate demo) >>\n%%EOF\n")
    assert "replaced by the multi-page map, read inline" in _run()
    map_file.refresh_from_db()
    assert map_file.read_inline
    assert map_file.pdf_page_count == 6
    # A map the marketer uploaded instead is theirs: kept.
    GateFile.objects.filter(pk=map_file.pk).update(read_inline=False, pdf_status="")
    with map_file.upload.open("wb") as handle:
        handle.write(b"%PDF-1.4\n<< /Producer (Their PDF tool) >>\n%%EOF\n")
    assert "kept as changed on the gate" in _run()
