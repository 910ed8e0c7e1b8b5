"""Helpers shared by the benchmarks (bench/run.py skips this module)."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def use_own_database(suffix: str) -> str:
    """Point Django's default connection at `<name>_<suffix>`, created and migrated here,
    so a benchmark's bulk data never lands in a database anything else uses."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    conn = connections["default"]
    settings_dict = conn.settings_dict
    name = str(settings_dict["NAME"])
    target = name if name.endswith(f"_{suffix}") else f"{name}_{suffix}"
    conninfo = psycopg.conninfo.make_conninfo(
        dbname="postgres",
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
    )
    with psycopg.connect(conninfo, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone():
            admin.execute(f'CREATE DATABASE "{target}"')
    conn.close()
    settings_dict["NAME"] = target
    call_command("migrate", verbosity=0, interactive=False)
    return target


def http_receiver_start(
    handler: type[BaseHTTPRequestHandler], *, path: str = "/crm"
) -> tuple[ThreadingHTTPServer, str]:
    """A local HTTP receiver (a CRM stand-in) on a free port, served by daemon threads:
    the server (for http_receiver_stop) and the URL to send to."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{path}"


def http_receiver_stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def bench_gate_create(
    *,
    slug: str,
    title: str,
    origin: str,
    rule_name: str,
    read_points: int,
    read_cap: int,
    **gate_fields: Any,
) -> Any:
    """The delivery benchmarks' gate: six sections and a network map, thresholds warm 30
    and hot 80 without decay, a capped rule per section read and a download of the map
    that makes its lead hot (rules named `rule_name` read / hot)."""
    from forms_app.models import Gate, GateFile, Section
    from profiling.models import ScoringRule, ScoringSettings

    gate = Gate.objects.create(
        slug=slug, title=title, stage="interest", allowed_origins=[origin], **gate_fields
    )
    for i in range(6):
        Section.objects.create(gate=gate, key=f"s{i}", title=f"S{i}", position=i)
    GateFile.objects.create(
        gate=gate, key="network-map", title="Map", url="https://example.com/m.pdf", position=0
    )
    ScoringSettings.objects.update_or_create(
        pk=1, defaults={"warm_threshold": 30, "hot_threshold": 80, "half_life_days": 0}
    )
    ScoringRule.objects.create(
        name=f"{rule_name} read",
        event_type="section_view",
        gate=gate,
        points=read_points,
        max_points=read_cap,
    )
    ScoringRule.objects.create(
        name=f"{rule_name} hot",
        event_type="download",
        gate=gate,
        file_key="network-map",
        points=5,
        makes_hot=True,
    )
    return gate
