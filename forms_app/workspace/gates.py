"""Gate builder: list, create and edit gates with sections, files and questions; a live
preview rendered with the hosted page's own templates; the embed snippet to copy.

Every write goes through forms_app.services.gates.gate_save, so the stage policy and the
friction guard (with its message) apply exactly as in the API; their errors are shown
inline, next to the row that caused them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from csp.constants import SELF
from csp.decorators import csp_replace, csp_update
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forms_app.forms import HONEYPOT
from forms_app.forms import GateForm as VisitorForm
from forms_app.links import base_url, gate_embed_snippet, gate_hosted_url, gate_iframe_snippet
from forms_app.models import (
    FormField,
    Gate,
    GateFile,
    Language,
    PdfStatus,
    Section,
    Stage,
    default_consent_text,
)
from forms_app.section_body import body_html
from forms_app.selectors import gate_get
from forms_app.services.gates import FieldInput, FileInput, SectionInput, gate_delete, gate_save
from forms_app.stage_policy import fields_for
from forms_app.views.gate_render import field_views
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import page, validation_messages
from forms_app.workspace.forms import FileFormSet, GateForm, QuestionFormSet, SectionFormSet
from profiling.refusals import gate_diagnostics

PREVIEW_MODES = ("page", "embed", "content")
# Markdown images are https URLs (forms_app/section_body.py): the builder's live preview
# (a srcdoc frame, under this page's policy) and the saved preview show them.
IMAGES = {"img-src": ["https:"]}


@marketer_required
@require_GET
def gate_list(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=30)
    gates = Gate.objects.annotate(
        section_count=Count("sections", distinct=True),
        file_count=Count("files", distinct=True),
    ).order_by("title")
    # Submissions per gate over 30 days: one grouped query on the created_at index.
    from forms_app.models import Submission

    recent = dict(
        Submission.objects.filter(created_at__gte=since)
        .values("gate_id")
        .annotate(n=Count("id"))
        .values_list("gate_id", "n")
    )
    rows = [{"gate": g, "submissions_30d": recent.get(g.pk, 0)} for g in gates]
    return page(request, "gates.html", {"rows": rows}, section="gates")


def _pdf_state(f: GateFile) -> str:
    """How far the file's PDF read inline is, for the marketer."""
    if f.pdf_status == PdfStatus.READY:
        return f"PDF read inline: {f.pdf_page_count} pages, ready."
    if f.pdf_status == PdfStatus.PENDING:
        return (
            f"PDF read inline: rendering, {f.pdf_pages_ready} of {f.pdf_page_count} pages "
            "ready (visitors see them as they come)."
        )
    if f.pdf_status == PdfStatus.FAILED:
        return f"PDF could not be read inline: {f.pdf_error}"
    return ""


def _initial(
    gate: Gate,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    main = {
        "title": gate.title,
        "slug": gate.slug,
        "stage": gate.stage,
        "headline": gate.headline,
        "description": gate.description,
        "submit_label": gate.submit_label,
        "subscribe_label": gate.subscribe_label,
        "consent_text": gate.consent_text,
        "email_content": gate.email_content,
        "double_opt_in": gate.double_opt_in,
        "allowed_origins": "\n".join(gate.allowed_origins or []),
        "min_dwell_s": gate.min_dwell_ms // 1000,
        "idle_timeout_s": gate.idle_timeout_ms // 1000,
        "is_active": gate.is_active,
        "language": gate.language,
    }
    sections = [
        {"key": s.key, "title": s.title, "body": s.body, "topics": ", ".join(s.topics or [])}
        for s in gate.sections.all()
    ]
    files = [
        {
            "key": f.key,
            "title": f.title,
            "url": f.url,
            "current_upload": f.upload.name if f.upload else "",
            "read_inline": f.read_inline,
            "pdf_state": _pdf_state(f),
            "reader_href": f"/g/{gate.slug}/read/{f.key}" if f.readable_inline else "",
        }
        for f in gate.files.all()
    ]
    questions = [
        {"name": q.name, "label": q.label, "type": q.type, "choices": "\n".join(q.choices or [])}
        for q in gate.fields.all()
    ]
    return main, sections, files, questions


def _rows(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The rows the marketer kept (not deleted, not left blank), in their order."""
    rows = [
        f
        for f in formset.forms
        if f.has_changed() and not (formset.can_delete and f.cleaned_data.get("DELETE"))
    ]
    if formset.can_order:
        # Moved rows carry their place in ORDER; a new row without one goes last.
        rows.sort(key=lambda f: (f.cleaned_data.get("ORDER") is None, f.cleaned_data.get("ORDER")))
    return rows


def _row_order(value: str | None, index: int) -> tuple[int, int]:
    try:
        return (int(value or ""), index)
    except ValueError:
        return (1_000_000, index)


def _moved(data: QueryDict, prefix: str, index: int, step: int, limit: int) -> QueryDict:
    """The POST with row `index` of formset `prefix` moved one place (step -1 or +1):
    the rows re-numbered in their new order, so the page shows them so (the builder's
    move buttons without JavaScript)."""
    total = min(int(data.get(f"{prefix}-TOTAL_FORMS") or 0), limit)
    rows = []
    for i in range(total):
        head = f"{prefix}-{i}-"
        rows.append({k[len(head) :]: data.getlist(k) for k in data if k.startswith(head)})
    order = sorted(range(total), key=lambda i: _row_order(data.get(f"{prefix}-{i}-ORDER"), i))
    if index in order:
        at = order.index(index)
        to = at + step
        if 0 <= to < total:
            order[at], order[to] = order[to], order[at]
    moved = data.copy()
    for key in list(moved):
        if key.startswith(f"{prefix}-") and key[len(prefix) + 1 : len(prefix) + 2].isdigit():
            del moved[key]
    for new, old in enumerate(order):
        for name, values in rows[old].items():
            moved.setlist(f"{prefix}-{new}-{name}", values)
        moved[f"{prefix}-{new}-ORDER"] = str(new + 1)
    return moved


def _move_request(data: QueryDict) -> tuple[int, int] | None:
    """("sections-3-up") -> (3, -1): which section row a move button asked to move."""
    parts = str(data.get("move", "")).split("-")
    if len(parts) != 3 or parts[0] != "sections" or not parts[1].isdigit():
        return None
    if parts[2] not in ("up", "down"):
        return None
    return int(parts[1]), -1 if parts[2] == "up" else 1


def _show_service_errors(
    exc: ValidationError,
    main: GateForm,
    blocks: dict[str, tuple[forms.BaseFormSet, list[forms.Form]]],
    block_errors: dict[str, list[str]],
) -> None:
    """Put each of gate_save's errors next to what caused it.

    Keys are "slug", "fields", "fields.1", "sections.0.key", ...: the index counts the
    rows that were sent to the service, which `blocks` maps back to the forms on screen.
    """
    for key, msgs in validation_messages(exc).items():
        head, _, rest = key.partition(".")
        if head in blocks:
            _, rows = blocks[head]
            index, _, attr = rest.partition(".")
            if index.isdigit() and int(index) < len(rows):
                row = rows[int(index)]
                for m in msgs:
                    row.add_error(attr if attr in row.fields else None, m)
            else:
                block_errors.setdefault(head, []).extend(msgs)
        elif key in main.fields:
            for m in msgs:
                main.add_error(key, m)
        elif key in ("min_dwell_ms", "idle_timeout_ms"):
            for m in msgs:
                main.add_error(key.replace("_ms", "_s"), m)
        else:
            for m in msgs:
                main.add_error(None, m if key == "__all__" else f"{key}: {m}")


@marketer_required
@require_http_methods(["GET", "POST"])
@csp_update(IMAGES)
def gate_edit(request: HttpRequest, slug: str | None = None) -> HttpResponseBase:
    gate = gate_get(slug=slug) if slug else None
    if slug and gate is None:
        raise Http404("No gate with this slug.")
    block_errors: dict[str, list[str]] = {}
    moved_row = ""
    move = _move_request(request.POST) if request.method == "POST" else None
    if move is not None:
        # A move button without JavaScript: show the new order, save nothing yet.
        index, step = move
        moved = _moved(request.POST, "sections", index, step, SectionFormSet.absolute_max)
        main = GateForm(moved)
        sections = SectionFormSet(moved, prefix="sections")
        files = FileFormSet(moved, prefix="files")
        questions = QuestionFormSet(moved, prefix="fields")
        total = min(int(moved.get("sections-TOTAL_FORMS") or 0), SectionFormSet.absolute_max)
        new_index = max(0, min(index + step, total - 1))
        moved_row = f"sections-{new_index}"
        messages.info(request, "Order changed. Save to keep it.")
        status = 200
    elif request.method == "POST":
        main = GateForm(request.POST)
        sections = SectionFormSet(request.POST, prefix="sections")
        files = FileFormSet(request.POST, request.FILES, prefix="files")
        questions = QuestionFormSet(request.POST, prefix="fields")
        valid = all([main.is_valid(), sections.is_valid(), files.is_valid(), questions.is_valid()])
        if valid:
            blocks: dict[str, tuple[forms.BaseFormSet, list[forms.Form]]] = {
                "sections": (sections, _rows(sections)),
                "files": (files, _rows(files)),
                "fields": (questions, _rows(questions)),
            }
            data = main.service_data()
            try:
                saved = gate_save(
                    gate=gate,
                    data=data,
                    sections=[
                        SectionInput(
                            key=f.cleaned_data["key"],
                            title=f.cleaned_data["title"],
                            body=f.cleaned_data.get("body", ""),
                            topics=f.cleaned_data.get("topics", []),
                        )
                        for f in blocks["sections"][1]
                    ],
                    files=[
                        FileInput(
                            key=f.cleaned_data["key"],
                            title=f.cleaned_data["title"],
                            url=f.cleaned_data.get("url") or "",
                            upload=f.cleaned_data.get("upload") or None,
                            read_inline=bool(f.cleaned_data.get("read_inline")),
                        )
                        for f in blocks["files"][1]
                    ],
                    fields=[
                        FieldInput(
                            name=f.cleaned_data["name"],
                            label=f.cleaned_data["label"],
                            type=f.cleaned_data["type"],
                            choices=f.cleaned_data.get("choices", []),
                        )
                        for f in blocks["fields"][1]
                    ],
                )
            except ValidationError as exc:
                _show_service_errors(exc, main, blocks, block_errors)
            else:
                messages.success(
                    request, f"Saved “{saved.title}”. The preview shows what visitors see now."
                )
                return redirect("workspace:gate-edit", slug=saved.slug)
        status = 400
    else:
        status = 200
        if gate is not None:
            m, s, f, q = _initial(gate)
        else:
            m = {"stage": Stage.INTEREST, "min_dwell_s": 5, "idle_timeout_s": 30, "is_active": True}
            s, f, q = [{}], [], []
        main = GateForm(initial=m)
        sections = SectionFormSet(initial=s, prefix="sections")
        files = FileFormSet(initial=f, prefix="files")
        questions = QuestionFormSet(initial=q, prefix="fields")
    context: dict[str, Any] = {
        "gate": gate,
        "form": main,
        "sections": sections,
        "files": files,
        "questions": questions,
        "block_errors": block_errors,
        "moved_row": moved_row,
        "preview_modes": PREVIEW_MODES,
        "image_max_mb": f"{settings.LEADGATE_IMAGE_MAX_BYTES / (1024 * 1024):g}",
    }
    if gate is not None:
        context["diagnostics"] = gate_diagnostics(gate)
        base = base_url(request)
        context["snippet"] = gate_embed_snippet(gate, base=base)
        context["hosted_url"] = gate_hosted_url(gate, base=base)
        context["iframe_snippet"] = gate_iframe_snippet(gate, base=base)
        context["section_snippet"] = (
            f'<section data-leadgate-section="{gate.sections.first().key}">…</section>'  # type: ignore[union-attr]
            if gate.sections.exists()
            else ""
        )
    return page(request, "gate_edit.html", context, section="gates", status=status)


@marketer_required
@require_POST
def gate_remove(request: HttpRequest, slug: str) -> HttpResponseBase:
    gate = gate_get(slug=slug)
    if gate is None:
        raise Http404("No gate with this slug.")
    title = gate.title
    gate_delete(gate=gate)
    messages.success(request, f"Deleted “{title}”.")
    return redirect("workspace:gates")


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


def _draft_rows(data: QueryDict, prefix: str, limit: int) -> list[tuple[int, dict[str, str]]]:
    """A formset's rows as typed (kept, not blank), in their order, valid or not."""
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS") or 0), limit)
    except ValueError:
        total = 0
    rows = []
    for i in range(total):
        head = f"{prefix}-{i}-"
        if data.get(head + "DELETE"):
            continue
        row = {k[len(head) :]: str(v) for k, v in data.items() if k.startswith(head)}
        if not any(v.strip() for k, v in row.items() if k != "ORDER"):
            continue
        rows.append((i, row))
    rows.sort(key=lambda r: _row_order(r[1].get("ORDER"), r[0]))
    return rows


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


@marketer_required
@require_POST
def gate_origin_allow(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The diagnostics' "Add it": allow an origin whose events were refused."""
    gate = gate_get(slug=slug)
    if gate is None:
        raise Http404("No gate with this slug.")
    origin = str(request.POST.get("origin", ""))[:300]
    try:
        gate_save(gate=gate, data={"allowed_origins": [*gate.allowed_origins, origin]})
    except ValidationError as exc:
        for msgs in validation_messages(exc).values():
            for m in msgs:
                messages.error(request, f"{origin}: {m}")
    else:
        messages.success(request, f"{origin} may now send events and show the form.")
    return redirect("workspace:gate-edit", slug=gate.slug)
