"""`python manage.py demo`: seed the model case, the fibre company's e-book.

Idempotent: a second run updates what the first made (same gate, rules, endpoint and
secret, same user) instead of duplicating it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from forms_app import demo_content
from forms_app.models import Gate, GateFile
from forms_app.services.gates import FileInput, SectionInput, gate_save
from profiling.models import ScoringRule, ScoringSettings, WebhookEndpoint

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # printed on purpose: a local demo login
SANDBOX_PATH = "/sandbox/crm/"
READ_RULE = "Read e-book sections"
MAP_RULE = "Downloaded the network map"


def _stored_bytes(gate_file: GateFile | None) -> bytes | None:
    if gate_file is None or not gate_file.upload:
        return None
    try:
        with gate_file.upload.open("rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


class Command(BaseCommand):
    help = "Seed the demo: the network-vbook gate, scoring rules, a sandbox webhook, a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where this server is reached; the sandbox webhook posts to <base>/sandbox/crm/.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = str(options["base_url"]).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise CommandError(f"--base-url {base_url!r} is not like http://127.0.0.1:8000")

        with transaction.atomic():
            user, token = self._user()
            gate, map_written = self._gate(base_url)
            self._scoring(gate)
            endpoint = self._endpoint(base_url)
        self._summary(base_url, user, token, gate, map_written, endpoint)

    # --- pieces ---------------------------------------------------------------------

    def _user(self) -> tuple[Any, Token]:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_USER, defaults={"email": "demo@example.com"}
        )
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        token, _ = Token.objects.get_or_create(user=user)
        return user, token

    def _gate(self, base_url: str) -> tuple[Gate, bool]:
        gate = Gate.objects.filter(slug=demo_content.GATE_SLUG).first()
        pdf = demo_content.network_map_pdf()
        existing_file = (
            GateFile.objects.filter(gate=gate, key=demo_content.MAP_FILE_KEY).first()
            if gate
            else None
        )
        up_to_date = _stored_bytes(existing_file) == pdf
        if existing_file is not None and existing_file.upload and not up_to_date:
            existing_file.upload.delete(save=False)  # replaced below; no orphan files
        origins = sorted({"http://localhost:8000", "http://127.0.0.1:8000", base_url.lower()})
        data = dict(demo_content.GATE, allowed_origins=origins)
        gate = gate_save(
            gate=gate,
            data=data,
            sections=[
                SectionInput(key=s.key, title=s.title, body=s.body, topics=list(s.topics))
                for s in demo_content.SECTIONS
            ],
            files=[
                FileInput(
                    key=demo_content.MAP_FILE_KEY,
                    title=demo_content.MAP_FILE_TITLE,
                    upload=None
                    if up_to_date
                    else SimpleUploadedFile(
                        demo_content.MAP_FILE_NAME, pdf, content_type="application/pdf"
                    ),
                )
            ],
            fields=[],
        )
        return gate, not up_to_date

    def _scoring(self, gate: Gate) -> None:
        ScoringSettings.objects.update_or_create(
            pk=1, defaults={"warm_threshold": 30, "hot_threshold": 80}
        )
        ScoringRule.objects.update_or_create(
            name=READ_RULE,
            defaults={
                "event_type": "section_view",
                "gate": gate,
                "section_key": "",
                "file_key": "",
                "points": 10,
                "max_points": 60,
                "min_duration_ms": 5000,
                "makes_hot": False,
                "is_active": True,
            },
        )
        ScoringRule.objects.update_or_create(
            name=MAP_RULE,
            defaults={
                "event_type": "download",
                "gate": gate,
                "section_key": "",
                "file_key": demo_content.MAP_FILE_KEY,
                "points": 50,
                "max_points": None,
                "min_duration_ms": None,
                "makes_hot": True,
                "is_active": True,
            },
        )

    def _endpoint(self, base_url: str) -> WebhookEndpoint:
        url = base_url + SANDBOX_PATH
        endpoint = (
            WebhookEndpoint.objects.filter(url=url).first()
            or WebhookEndpoint.objects.filter(url__endswith=SANDBOX_PATH).order_by("id").first()
        )
        if endpoint is None:
            endpoint = WebhookEndpoint(url=url)
        # Keep the secret across runs: a CRM set up with it keeps verifying.
        endpoint.url = url
        endpoint.grades = ["warm", "hot"]
        endpoint.is_active = True
        endpoint.disabled_reason = ""
        endpoint.save()
        return endpoint

    def _summary(
        self,
        base_url: str,
        user: Any,
        token: Token,
        gate: Gate,
        map_written: bool,
        endpoint: WebhookEndpoint,
    ) -> None:
        ok = self.style.SUCCESS
        out = self.stdout.write
        out(ok("leadgate demo is ready."))
        out("")
        out(f"  Gate      {gate.title}  ({gate.sections.count()} sections, stage {gate.stage})")
        out(
            f"  File      {demo_content.MAP_FILE_TITLE}: "
            + ("written" if map_written else "already up to date")
        )
        out("  Scoring   warm at 30, hot at 80; 10 points per section read (max 60),")
        out("            downloading the network map makes the lead hot")
        out(f"  Webhook   {endpoint.url}  (grades: warm, hot)")
        out(f"  Login     user {user.username!r}, password {DEMO_PASSWORD!r} (staff, superuser)")
        out(f"  API token {token.key}")
        out(f"            curl -H 'Authorization: Token {token.key}' {base_url}/api/v1/leads/")
        out("")
        out("  Open:")
        out(f"    hosted gate        {base_url}/g/{gate.slug}")
        out(f"    admin              {base_url}/admin/  (demo / demo)")
        out(f"    API docs           {base_url}/api/docs/")
        out(f"    sandbox CRM inbox  {base_url}{SANDBOX_PATH}")
        out("")
        if not settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE:
            out(
                self.style.WARNING(
                    "  Note: LEADGATE_WEBHOOK_ALLOW_PRIVATE is not set, so webhooks to the "
                    f"sandbox inbox at {urlsplit(base_url).hostname} (a loopback/private "
                    "address) will be refused.\n  ./scripts/demo.sh sets it; otherwise run "
                    "the server with LEADGATE_WEBHOOK_ALLOW_PRIVATE=1."
                )
            )
