"""The gate as a visitor sees it, rendered with the hosted page's own templates: a saved
gate's preview, and the live preview of the builder's form as posted (not saved)."""

from __future__ import annotations

from typing import Any

from csp.constants import SELF
from csp.decorators import csp_replace, csp_update
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from forms_app.forms import HONEYPOT
from forms_app.forms import GateForm as VisitorForm
from forms_app.models import (
    FormField,
    Gate,
    GateFile,
    Language,
    Section,
    Stage,
    default_consent_text,
)
from forms_app.section_body import body_html
from forms_app.selectors import gate_get
from forms_app.stage_policy import fields_for
from forms_app.views.gate_render import field_views
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import page
from forms_app.workspace.forms import FileFormSet, QuestionFormSet, SectionFormSet
from forms_app.workspace.gates.rows import _draft_rows

PREVIEW_MODES = ("page", "embed", "content")
# Markdown images are https URLs (forms_app/section_body.py): the builder's live preview
# (a srcdoc frame, under this page's policy) and the saved preview show them.
IMAGES = {"img-src": ["https:"]}


@marketer_required
@require_GET
@xframe_options_sameorigin
@csp_update(IMAGES)
# The gate builder frames this page (same origin); the site-wide CSP lets no one.
@csp_replace({"frame-ancestors": [SELF]})  # type: ignore[arg-type]  # typed for (request) views
def gate_preview(request: HttpRequest, slug: str, mode: str) -> HttpResponse:
    """The gate as a visitor sees it, rendered with the hosted page's own templates.

    Shown in a sandboxed iframe (no scripts, no form submission): the tracker never runs,
    so previews add no page views to the funnel, and nothing can be submitted.
    Works for inactive gates too, so a draft can be checked before it goes live.
    """
    gate = gate_get(slug=slug)
    if gate is None or mode not in PREVIEW_MODES:
        raise Http404("No such preview.")
    return _preview(request, gate, mode)


def _preview(request: HttpRequest, gate: Gate, mode: str) -> HttpResponse:
    # Exactly what visitors see: in the gate's language (the workspace's own texts are
    # not translated).
    with translation.override(gate.language):
        return _preview_render(request, gate, mode)


def _preview_render(request: HttpRequest, gate: Gate, mode: str) -> HttpResponse:
    embed = mode == "embed"
    context: dict[str, Any] = {
        "gate": gate,
        "embed": embed,
        "base_template": "forms_app/base_embed.html" if embed else "forms_app/base.html",
        "preview": True,
    }
    if mode == "content" or gate.stage == Stage.EPIPHANY:
        context.update(
            show_form=False,
            sections=list(gate.sections.all()),
            files=[
                {"key": f.key, "title": f.title, "href": "#downloads"} for f in gate.files.all()
            ],
            just_unlocked=mode == "content" and gate.stage != Stage.EPIPHANY,
            identified=False,
        )
    else:
        visitor_form = VisitorForm(specs=fields_for(gate, None))
        fields = field_views(visitor_form)
        context.update(
            show_form=True,
            form=visitor_form,
            fields=fields,
            hidden={},
            honeypot=HONEYPOT,
            error_fields=[],
            non_field_errors=[],
        )
    return page(request, "gate_preview.html", context)


def _text(data: QueryDict, name: str, limit: int) -> str:
    return str(data.get(name, ""))[:limit]


def _draft_gate(data: QueryDict, saved: Gate | None) -> Gate:
    """An unsaved gate made of what the builder's form holds right now: what the live
    preview shows while the marketer types. Its sections, files and questions are
    handed to the related managers as if prefetched, so the hosted page's templates
    read them without a query (and nothing is written)."""
    stage = _text(data, "stage", 16)
    if stage not in Stage.values:
        stage = saved.stage if saved else Stage.INTEREST
    email_content = bool(data.get("email_content"))
    language = _text(data, "language", 8)
    if language not in Language.values:
        language = saved.language if saved else Language.EN
    gate = Gate(
        # A primary key lets the templates use the related managers; nothing is saved.
        pk=saved.pk if saved else 0,
        slug=_text(data, "slug", 80) or "draft",
        title=_text(data, "title", 200),
        stage=stage,
        headline=_text(data, "headline", 300),
        description=_text(data, "description", 20_000),
        subscribe_label=_text(data, "subscribe_label", 200),
        submit_label=_text(data, "submit_label", 60) or "Get the content",
        consent_text=_text(data, "consent_text", 2000)
        or default_consent_text(email_content=email_content),
        email_content=email_content,
        is_active=bool(data.get("is_active")),
        language=language,
    )
    sections = [
        Section(
            gate=gate,
            key=row.get("key", "")[:80],
            title=row.get("title", "")[:200],
            body=row.get("body", "")[:100_000],
            body_html=body_html(row.get("body", "")[:100_000]),
        )
        for _, row in _draft_rows(data, "sections", SectionFormSet.absolute_max)
    ]
    files = [
        GateFile(gate=gate, key=row.get("key", "")[:80], title=row.get("title", "")[:200])
        for _, row in _draft_rows(data, "files", FileFormSet.absolute_max)
    ]
    questions = [
        FormField(
            gate=gate,
            name=row.get("name", "")[:60],
            label=row.get("label", "")[:200],
            type=row.get("type", "text")[:10],
            choices=[c.strip() for c in row.get("choices", "").splitlines() if c.strip()][:20],
        )
        for _, row in _draft_rows(data, "fields", QuestionFormSet.absolute_max)
    ]
    gate._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "sections": sections,
        "files": files,
        "fields": questions,
    }
    return gate


@marketer_required
@require_POST
@csp_update(IMAGES)
def gate_draft_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the builder's form as posted (not saved, valid or not), rendered
    as a visitor would see it. static/workspace-builder.js posts the form as the marketer
    types and shows the answer in the preview's sandboxed frame (srcdoc)."""
    mode = request.GET.get("mode", "page")
    if mode not in PREVIEW_MODES:
        raise Http404("No such preview.")
    saved = (
        gate_get(slug=str(request.GET.get("gate", ""))[:80]) if request.GET.get("gate") else None
    )
    return _preview(request, _draft_gate(request.POST, saved), mode)
