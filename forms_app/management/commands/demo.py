"""`python manage.py demo`: seed the model case, the fibre company's e-book.

Safe to run again: it creates only what is missing (the gate with its sections and its
multi-page map read inline, the scoring rules (sections read, map downloaded, map pages
and its pricing chapter read inline), the thresholds, the sandbox webhook, the demo user;
with LEADGATE_SANDBOX=1 a `marketer` and a `sales` login, forms_app/demo/logins.py; sixty
days of history, once, forms_app/demo/history.py) and leaves what exists as it is, so
whatever a marketer changed in the workspace survives: allowed
origins, texts, sections, rules, thresholds, webhooks, the user's password. Only what
belongs to this server is brought up to date: the sandbox webhook posts to this server's
own inbox, so its URL follows --base-url, and one that leadgate switched off after
failures (the demo server was down) is switched on again; a map whose stored bytes are
gone is written again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from forms_app.demo import content as demo_content
from forms_app.demo.gate import demo_gate_create
from forms_app.demo.history import HISTORY_DAYS, HistoryResult, history_present, history_seed
from forms_app.demo.logins import EnsuredLogin, demo_logins_ensure
from forms_app.models import Gate, GateFile, PdfChapter
from forms_app.services.pdf import gate_file_pdf_attach
from profiling.models import ScoringRule, ScoringSettings, WebhookEndpoint
from profiling.services.endpoints import webhook_endpoint_save

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # printed on purpose: a local demo login
SANDBOX_PATH = "/sandbox/crm/"
READ_RULE = "Read e-book sections"
MAP_RULE = "Downloaded the network map"
MAP_PAGES_RULE = "Read pages of the network map"
PRICING_RULE = "Read the map's pricing chapter"
PRICING_CHAPTER = "pricing"
# What the seed writes in every map it makes (the PDF's /Producer).
DEMO_PRODUCER = b"/Producer (leadgate demo)"
WARM_THRESHOLD = 30
HOT_THRESHOLD = 80
# Anonymous visitors who read the e-book over the last two weeks, so that the content
# analytics page has a drop-off to show; ids derived from this namespace make a second
# run find them instead of adding more.


def _stored_bytes(gate_file: GateFile | None) -> bytes | None:
    if gate_file is None or not gate_file.upload:
        return None
    try:
        with gate_file.upload.open("rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


class Command(BaseCommand):
    help = (
        "Seed the demo: the network-vbook gate, scoring rules, a sandbox webhook, a user. "
        "Creates only what is missing; never changes what a marketer edited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where this server is reached; the sandbox webhook posts to <base>/sandbox/crm/.",
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="Do not make up the sixty days of visitors, leads and deliveries.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = str(options["base_url"]).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise CommandError(f"--base-url {base_url!r} is not like http://127.0.0.1:8000")

        self.created: list[str] = []
        self.kept: list[str] = []
        with transaction.atomic():
            user, token = self._user()
            gate, map_state = self._gate(base_url)
            self._scoring(gate)
            endpoint = self._endpoint(base_url)
            logins = self._logins()
        history = None if options["no_history"] else self._history(gate)
        self._summary(base_url, user, token, gate, map_state, endpoint, history, logins)

    def _note(self, created: bool, what: str) -> None:
        (self.created if created else self.kept).append(what)

    # --- pieces ---------------------------------------------------------------------

    def _user(self) -> tuple[Any, Token]:
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USER).first()
        self._note(user is None, "user")
        if user is None:
            user = user_model.objects.create_superuser(
                username=DEMO_USER, email="demo@example.com", password=DEMO_PASSWORD
            )
        token, _ = Token.objects.get_or_create(user=user)
        return user, token

    def _gate(self, base_url: str) -> tuple[Gate, str]:
        gate = Gate.objects.filter(slug=demo_content.GATE_SLUG).first()
        pdf = demo_content.network_map_pdf()
        if gate is None:
            origins = sorted({"http://localhost:8000", "http://127.0.0.1:8000", base_url.lower()})
            gate = demo_gate_create(allowed_origins=origins, pdf=pdf)
            self._note(True, "gate")
            return gate, "written"
        self._note(False, "gate")
        map_file = GateFile.objects.filter(gate=gate, key=demo_content.MAP_FILE_KEY).first()
        if map_file is None:
            return gate, "not on the gate (removed there; left so)"
        stored = _stored_bytes(map_file)
        if map_file.upload and stored is None:
            # The row names a file whose bytes are gone (a media folder wiped): downloads
            # would fail, and nothing of the marketer's is lost by writing it again.
            if map_file.pdf_status:
                # Its page images went with it: rendered again.
                gate_file_pdf_attach(gate_file=map_file, data=pdf, name=demo_content.MAP_FILE_NAME)
            else:
                map_file.upload.save(demo_content.MAP_FILE_NAME, ContentFile(pdf), save=True)
            return gate, "written again (its stored copy was missing)"
        if stored == pdf:
            return gate, "already up to date"
        if stored is not None and not map_file.pdf_status and DEMO_PRODUCER in stored:
            # The seed's own earlier one-page map, never changed by the marketer: the
            # multi-page map read inline replaces it.
            gate_file_pdf_attach(
                gate_file=map_file, data=pdf, name=demo_content.MAP_FILE_NAME, read_inline=True
            )
            return gate, "replaced by the multi-page map, read inline"
        return gate, "kept as changed on the gate"

    def _scoring(self, gate: Gate) -> None:
        _, created = ScoringSettings.objects.get_or_create(
            pk=1, defaults={"warm_threshold": WARM_THRESHOLD, "hot_threshold": HOT_THRESHOLD}
        )
        self._note(created, "thresholds")
        _, created = ScoringRule.objects.get_or_create(
            name=READ_RULE,
            defaults={
                "event_type": "section_view",
                "gate": gate,
                "points": 10,
                "max_points": 60,
                "min_duration_ms": 5000,
            },
        )
        self._note(created, f"rule “{READ_RULE}”")
        _, created = ScoringRule.objects.get_or_create(
            name=MAP_RULE,
            defaults={
                "event_type": "download",
                "gate": gate,
                "file_key": demo_content.MAP_FILE_KEY,
                "points": 50,
                "makes_hot": True,
            },
        )
        self._note(created, f"rule “{MAP_RULE}”")
        map_file = GateFile.objects.filter(gate=gate, key=demo_content.MAP_FILE_KEY).first()
        if map_file is None or not map_file.read_inline:
            return
        _, created = ScoringRule.objects.get_or_create(
            name=MAP_PAGES_RULE,
            defaults={
                "event_type": "section_view",
                "gate": gate,
                "file_key": demo_content.MAP_FILE_KEY,
                "points": 5,
                "max_points": 30,
                "min_duration_ms": 5000,
            },
        )
        self._note(created, f"rule “{MAP_PAGES_RULE}”")
        if PdfChapter.objects.filter(gate_file=map_file, key=PRICING_CHAPTER).exists():
            _, created = ScoringRule.objects.get_or_create(
                name=PRICING_RULE,
                defaults={
                    "event_type": "section_view",
                    "gate": gate,
                    "file_key": demo_content.MAP_FILE_KEY,
                    "section_key": PRICING_CHAPTER,
                    "points": 20,
                    "min_duration_ms": 5000,
                },
            )
            self._note(created, f"rule “{PRICING_RULE}”")

    def _endpoint(self, base_url: str) -> WebhookEndpoint:
        url = base_url + SANDBOX_PATH
        endpoint = (
            WebhookEndpoint.objects.filter(url=url).first()
            or WebhookEndpoint.objects.filter(url__endswith=SANDBOX_PATH).order_by("id").first()
        )
        if endpoint is None:
            # Straight to the model: the sandbox inbox is on this very server, a loopback
            # address the SSRF guard refuses unless LEADGATE_WEBHOOK_ALLOW_PRIVATE is set
            # (the summary says so when it is not).
            endpoint = WebhookEndpoint.objects.create(
                name="Sandbox CRM inbox", url=url, grades=["warm", "hot"]
            )
            self._note(True, "sandbox webhook")
            return endpoint
        self._note(False, "sandbox webhook")
        if endpoint.url != url:
            # The inbox is this server's own: its address is where this server runs.
            endpoint.url = url
            endpoint.save(update_fields=["url"])
        if endpoint.disabled_reason:
            # Switched off by leadgate after failures (the demo server was down), not by
            # the marketer: on again, with the failure streak forgotten.
            endpoint = webhook_endpoint_save(endpoint=endpoint, data={"is_active": True})
        return endpoint

    def _logins(self) -> list[EnsuredLogin]:
        # Accounts with printed passwords belong to the sandbox only (LEADGATE_SANDBOX=1,
        # as scripts/demo.sh runs it), never to a server that may face the internet.
        if not settings.LEADGATE_SANDBOX:
            return []
        logins = demo_logins_ensure()
        self._note(any(e.created for e in logins), "sandbox logins")
        return logins

    def _history(self, gate: Gate) -> HistoryResult | None:
        # Once: a second run (or a database in real use) already has its history, and
        # made-up visitors must never mix into it again.
        if history_present():
            self._note(False, "history")
            return None
        result = history_seed(gate=gate)
        self._note(True, "history")
        return result

    def _summary(
        self,
        base_url: str,
        user: Any,
        token: Token,
        gate: Gate,
        map_state: str,
        endpoint: WebhookEndpoint,
        history: HistoryResult | None,
        logins: list[EnsuredLogin],
    ) -> None:
        ok = self.style.SUCCESS
        out = self.stdout.write
        thresholds = ScoringSettings.objects.get(pk=1)
        # The printed login is the demo's only while nobody has changed the password.
        default_password = user.check_password(DEMO_PASSWORD)
        password = f"password {DEMO_PASSWORD!r}" if default_password else "password as you set it"
        login = f"{DEMO_USER} / {DEMO_PASSWORD}" if default_password else f"user {DEMO_USER}"
        signs_in = [
            f"{e.login.username} / {e.login.password}"
            if e.password_is_demo
            else f"{e.login.username} (password as you set it)"
            for e in logins
        ]
        out(ok("leadgate demo is ready."))
        out("")
        if self.created:
            out(f"  Created   {', '.join(self.created)}")
        if self.kept:
            out(f"  Kept      {', '.join(self.kept)} (as they were: the seed never changes them)")
        out(f"  Gate      {gate.title}  ({gate.sections.count()} sections, stage {gate.stage})")
        out(f"  File      {demo_content.MAP_FILE_TITLE}: {map_state}")
        out(
            f"  Scoring   warm at {thresholds.warm_threshold}, hot at {thresholds.hot_threshold}; "
            f"{ScoringRule.objects.filter(is_active=True).count()} active rules"
        )
        out(f"  Webhook   {endpoint.url}  (grades: {', '.join(endpoint.grades) or 'none'})")
        if history is not None:
            out(
                f"  History   {HISTORY_DAYS} days: {history.visitors:,} visitors, "
                f"{history.events:,} events, {history.leads} leads ({history.warm} warm, "
                f"{history.hot} hot), {history.deliveries} CRM deliveries "
                f"({history.failed} failed); made in {history.seconds:.1f} s"
            )
        # scripts/demo.sh puts the "Sign in" lines in its banner: keep their prefix.
        for e, text in zip(logins, signs_in, strict=True):
            out(f"  Sign in   {text}  ({e.login.group}: {e.login.does})")
        out(f"  Admin     user {user.username!r}, {password}  (superuser: admin, sandbox inboxes)")
        out(f"  API token {token.key}")
        out(f"            curl -H 'Authorization: Token {token.key}' {base_url}/api/v1/leads/")
        out("")
        out("  Open:")
        out(f"    marketer workspace {base_url}/app/  ({signs_in[0] if signs_in else login})")
        out(f"    hosted gate        {base_url}/g/{gate.slug}")
        out(f"    content analytics  {base_url}/app/gates/{gate.slug}/content")
        out(f"    map read inline    {base_url}/g/{gate.slug}/read/{demo_content.MAP_FILE_KEY}")
        out(f"    sandbox CRM inbox  {base_url}{SANDBOX_PATH}")
        out(f"    API docs           {base_url}/api/docs/")
        out(f"    admin              {base_url}/admin/")
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
